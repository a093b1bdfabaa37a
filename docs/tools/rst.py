"""Small reStructuredText helpers shared by the generators."""
import re
from collections.abc import Iterable, Sequence

_INLINE_MARKUP = re.compile(r"([\\`*|_])")


def escape(text: str, keep_edges: bool = False) -> str:
    """Text that reST shows literally (no emphasis, references or substitutions), on one line.

    keep_edges keeps one leading/trailing space, for text placed next to other inline markup.
    """
    text = str(text)
    body = " ".join(text.split())
    if keep_edges and body:
        body = (" " if text[0].isspace() else "") + body + (" " if text[-1].isspace() else "")
    return _INLINE_MARKUP.sub(r"\\\1", body)


def literal(text: str) -> str:
    """Inline code; reST literals cannot hold a backtick, so those are replaced by quotes."""
    return "``" + " ".join(str(text).replace("`", "'").split()) + "``" if str(text).strip() else ""


def heading(title: str, char: str) -> str:
    return f"{title}\n{char * len(title)}\n"


def list_table(headers: Sequence[str] | None, rows: Iterable[Sequence[str]], widths: Sequence[int] | None = None,
               title: str = "") -> str:
    """A list-table (headers None: no header row); cells are reST already (escape plain text with `escape`)."""
    lines = [f".. list-table:: {title}".rstrip(), f"   :header-rows: {0 if headers is None else 1}"]
    if widths:
        lines.append("   :widths: " + " ".join(str(w) for w in widths))
    lines.append("")
    for row in ([] if headers is None else [list(headers)]) + [list(r) for r in rows]:
        for index, cell in enumerate(row):
            cell_lines = str(cell).splitlines() or [""]
            prefix = "   * - " if index == 0 else "     - "
            lines.append((prefix + cell_lines[0]).rstrip())
            lines.extend(("       " + extra).rstrip() for extra in cell_lines[1:])
    return "\n".join(lines) + "\n"
