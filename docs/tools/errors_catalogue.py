"""The User Guide's error catalogue, read from the node code so it cannot drift from what the tasks print.

Every `OperatorError(cause, fix)` call under node/xenserver_plugin/ is found with `ast`. A message is a string
literal, a module-level string constant, a concatenation of those, or a literal %-formatted or .format()-ted
with values known only at run time; those values are shown as named placeholders (<path>, <error.strerror>).
"""
import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path

from docs.tools import rst

ERROR_CLASS = "OperatorError"
# %s, %d, %r, %(name)s, %.1f ... and {} / {name} / {0}
_PERCENT = re.compile(r"%(\((?P<key>\w+)\))?[-#0 +]*\d*(\.\d+)?[sdrfixg]")
_BRACES = re.compile(r"\{(?P<key>[^{}]*)\}")


@dataclass(frozen=True)
class Message:
    """One operator-facing failure: what the task prints (cause, then fix) and where it is raised."""
    module: str      # e.g. "astute" or "tasks/compute_pre_test"
    line: int
    cause: str       # placeholders look like <name>
    fix: str


class _NotLiteralError(Exception):
    """An argument whose text is not known before run time (e.g. a variable holding a whole message)."""


_GENERIC_ATTRIBUTES = {"strerror": "error", "returncode": "exit code", "stderr": "error output",
                       "err": "error output", "out": "output"}


_TEXT_METHODS = {"strip", "rstrip", "lstrip", "lower", "upper", "title", "decode", "encode", "splitlines", "split"}


def _describe(node: ast.expr) -> str:
    """A reader's name for a run-time value: `dom0.settings.username` -> "username", `', '.join(waiting)`
    -> "waiting", `result.err.strip() or ...` -> "error output"."""
    if isinstance(node, ast.Name):
        return node.id.lower().replace("_", " ")
    if isinstance(node, ast.Attribute):
        return _GENERIC_ATTRIBUTES.get(node.attr, node.attr.replace("_", " "))
    if isinstance(node, ast.Call):
        # str(error), six.text_type(error), ", ".join(names), data.get("reason"): the argument names it;
        # error.strip(): the receiver does.
        if isinstance(node.func, ast.Attribute) and node.func.attr in _TEXT_METHODS:
            return _describe(node.func.value)
        if node.args:
            return _describe(node.args[0])
        if isinstance(node.func, ast.Attribute):
            return _describe(node.func.value)
        return ast.unparse(node.func)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
        return node.value.replace("_", " ")
    if isinstance(node, ast.BoolOp):
        return _describe(node.values[0])
    if isinstance(node, ast.IfExp):
        return _describe(node.orelse if isinstance(node.body, ast.Constant) else node.body)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
        return _describe(node.generators[0].iter)
    if isinstance(node, ast.Subscript):
        return _describe(node.value)
    return "value"


def _placeholder(node: ast.expr, constants: dict[str, str]) -> str:
    """A value known before run time (a constant) is shown as its text; anything else as <its name>."""
    if isinstance(node, ast.IfExp):
        # `"es" if n > 1 else ""`, `"missing" if x is None else "'%s'" % x`: show the branch that says more.
        node = node.orelse if isinstance(node.body, ast.Constant) and not (
            isinstance(node.orelse, ast.Constant) and node.orelse.value == "") else node.body
    try:
        return message_text(node, constants)
    except _NotLiteralError:
        return "<" + _describe(node) + ">"


def _fill_percent(template: str, values: ast.expr, constants: dict[str, str]) -> str:
    if isinstance(values, ast.Dict):
        names = {ast.literal_eval(k): v for k, v in zip(values.keys, values.values, strict=True)
                 if isinstance(k, ast.Constant)}
        return _PERCENT.sub(lambda m: _placeholder(names[m["key"]], constants) if m["key"] in names else "<value>",
                            template.replace("%%", "\0")).replace("\0", "%")
    items = list(values.elts) if isinstance(values, ast.Tuple) else [values]
    pending = iter(items)

    def next_value(match: re.Match) -> str:
        item = next(pending, None)
        return _placeholder(item, constants) if item is not None else "<value>"

    return _PERCENT.sub(next_value, template.replace("%%", "\0")).replace("\0", "%")


def _fill_format(template: str, call: ast.Call, constants: dict[str, str]) -> str:
    positional = iter(call.args)
    named = {k.arg: k.value for k in call.keywords if k.arg}

    def value(match: re.Match) -> str:
        key = match["key"].split("!")[0].split(":")[0]
        if not key:
            item = next(positional, None)
        elif key.isdigit():
            item = call.args[int(key)] if int(key) < len(call.args) else None
        else:
            item = named.get(key)
        return _placeholder(item, constants) if item is not None else "<value>"

    return _BRACES.sub(value, template.replace("{{", "\0").replace("}}", "\1")).replace("\0", "{").replace("\1", "}")


def message_text(node: ast.expr, constants: dict[str, str]) -> str:
    """The text of a message argument with run-time values as placeholders; _NotLiteralError when it is not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        # "Apply " + ", ".join(missing): literal text around a run-time value; two run-time values are not text.
        parts = []
        for side in (node.left, node.right):
            try:
                parts.append((True, message_text(side, constants)))
            except _NotLiteralError:
                parts.append((False, "<" + _describe(side) + ">"))
        if not any(literal for literal, _ in parts):
            raise _NotLiteralError(ast.unparse(node))
        return "".join(text for _, text in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _fill_percent(message_text(node.left, constants), node.right, constants)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"):
        return _fill_format(message_text(node.func.value, constants), node, constants)
    raise _NotLiteralError(ast.unparse(node))


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments, so a message kept in a constant is still found."""
    constants: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = statement.value.value
    return constants


def _is_operator_error(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == ERROR_CLASS) or \
        (isinstance(func, ast.Attribute) and func.attr == ERROR_CLASS)


def _arguments(call: ast.Call) -> tuple[ast.expr | None, ast.expr | None]:
    named = {k.arg: k.value for k in call.keywords}
    cause = call.args[0] if call.args else named.get("cause")
    fix = call.args[1] if len(call.args) > 1 else named.get("fix")
    return cause, fix


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def parse_package(package: Path) -> dict[Path, ast.Module]:
    """Every module under `package` (a directory), parsed once for collect() and module_summaries()."""
    return {path: parse(path) for path in sorted(package.rglob("*.py"))}


def messages_in_file(path: Path, module: str, shared: dict[str, str] | None = None, tree: ast.Module | None = None
                     ) -> tuple[list[Message], list[str]]:
    """(messages, problems): a problem is a call whose cause or fix is not literal text, with its location.

    `shared` holds the package's module-level constants (for imported names); the file's own win.
    `tree` is the file already parsed, if it was.
    """
    tree = parse(path) if tree is None else tree
    constants = {**(shared or {}), **_module_constants(tree)}
    found: list[Message] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_operator_error(node)):
            continue
        cause, fix = _arguments(node)
        try:
            if cause is None or fix is None:
                raise _NotLiteralError("missing cause or fix")
            found.append(Message(module, node.lineno, " ".join(message_text(cause, constants).split()),
                                 " ".join(message_text(fix, constants).split())))
        except _NotLiteralError as unknown:
            problems.append(f"{path}:{node.lineno}: OperatorError message is not literal text ({unknown})")
    return found, problems


def collect(package: Path, trees: dict[Path, ast.Module] | None = None) -> tuple[list[Message], list[str]]:
    """Every OperatorError message under `package` (a directory), sorted by module and line."""
    messages: list[Message] = []
    problems: list[str] = []
    trees = parse_package(package) if trees is None else trees
    shared: dict[str, str] = {}
    for tree in trees.values():
        shared.update(_module_constants(tree))
    for path, tree in trees.items():
        module = path.relative_to(package).with_suffix("").as_posix()
        found, bad = messages_in_file(path, module, shared, tree)
        messages.extend(found)
        problems.extend(bad)
    messages.sort(key=lambda m: (m.module, m.line))
    return messages, problems


def module_summaries(package: Path, trees: dict[Path, ast.Module] | None = None) -> dict[str, str]:
    """module -> the first line of its docstring, which says what the module does for the operator."""
    summaries = {}
    for path, tree in (parse_package(package) if trees is None else trees).items():
        docstring = ast.get_docstring(tree) or ""
        if docstring.strip():
            summaries[path.relative_to(package).with_suffix("").as_posix()] = docstring.strip().splitlines()[0]
    return summaries


def _with_placeholders(text: str) -> str:
    """Escaped text where each <placeholder> is in italics, telling the reader it is filled in at run time."""
    parts = re.split(r"(<[^<>]+>)", text)
    text = "".join(f"\\ *{rst.escape(p[1:-1])}*\\ " if p.startswith("<") and p.endswith(">")
                   else rst.escape(p, keep_edges=True) for p in parts).strip()
    return text.removeprefix("\\ ").removesuffix("\\")


def render(messages: list[Message], problems: list[str], summaries: dict[str, str] | None = None) -> str:
    """reST: one table per module (the module names the concern: astute, himn, dom0, ...)."""
    if not messages and not problems:
        return "No operator-facing error messages were found in the node code.\n"
    out = []
    for module in sorted({m.module for m in messages}):
        out.append(rst.heading(f"Raised by {module.replace('/', '.')}", "~"))
        if (summaries or {}).get(module):
            out.append(rst.escape(summaries[module]) + "\n")
        rows = [(_with_placeholders(m.cause), _with_placeholders(m.fix), str(m.line))
                for m in messages if m.module == module]
        out.append(rst.list_table(["The task prints", "What to do", "Line"], rows, widths=[47, 45, 8]))
    if problems:
        out.append(rst.heading("Messages built at run time", "~"))
        out.append("These failures build their whole text at run time; read the task's log for it:\n")
        out.extend(f"* {rst.literal(p)}" for p in problems)
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, nargs="?", default=Path("node/xenserver_plugin"))
    args = parser.parse_args(argv)
    trees = parse_package(args.package)
    messages, problems = collect(args.package, trees)
    print(render(messages, problems, module_summaries(args.package, trees)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
