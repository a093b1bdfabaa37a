"""The Test Report, generated from a real run: never hand-edited.

Inputs: pytest's JUnit XML files (one per interpreter/suite), optionally the lab's `verify` results as JSON,
the Test Plan's cases.yaml and the built RPM with its md5 file. Output: the report page as reStructuredText.

Lab JSON accepted (written by `python -m lab verify --json PATH`; a bare list of checks is accepted too):
    {"environment": {"topology": "...", "hosts": [{"name": "xs1", "kind": "dom0", "xenserver": "7.1.0"},
                                                   {"name": "compute-1", "kind": "node", "python": "2.7.18"}]},
     "checks": [{"name": "dom0_reaches_storage", "host": "xs1", "ok": true, "measured": "ping 3/3 ..."}]}
A check's outcome may be given as "ok"/"passed" (bool) or "status" ("pass"/"ok"/"fail"/...).
"""
import argparse
import datetime as dt
import fnmatch
import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from docs.tools import cases as plan
from docs.tools import rst

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
_SHOWN_FAILURES = 3


@dataclass(frozen=True)
class TestResult:
    nodeid: str
    outcome: str          # passed | failed | error | skipped
    message: str = ""
    suite: str = ""


@dataclass(frozen=True)
class Suite:
    name: str
    path: str
    timestamp: str
    hostname: str
    counts: Counter


@dataclass(frozen=True)
class LabCheck:
    name: str
    host: str
    ok: bool
    measured: str


@dataclass
class LabRun:
    environment: dict = field(default_factory=dict)
    checks: list[LabCheck] = field(default_factory=list)


@dataclass(frozen=True)
class CaseResult:
    case: plan.Case
    status: str
    evidence: list[str]


# What judge() returns: every case's result, the runs' suites, and the lab run if one was given.
Judged = tuple[list[CaseResult], list[Suite], LabRun | None]


# --- reading the inputs -------------------------------------------------------------------------------------------

def _nodeid(classname: str, name: str, file_attr: str | None, root: Path) -> str:
    """pytest's node id from a JUnit testcase: the longest dotted prefix of classname that is a file here."""
    parts = classname.split(".") if classname else []
    if file_attr:
        module = file_attr
        depth = len(Path(file_attr).with_suffix("").parts)
    else:
        depth = next((n for n in range(len(parts), 0, -1) if (root / Path(*parts[:n])).with_suffix(".py").is_file()),
                     len(parts))
        module = "/".join(parts[:depth]) + ".py" if parts else ""
    return "::".join([module, *parts[depth:], name]) if module else name


def _outcome(testcase: ET.Element) -> tuple[str, str]:
    for tag in ("failure", "error"):
        element = testcase.find(tag)
        if element is not None:
            text = element.get("message") or (element.text or "")
            return ("failed" if tag == "failure" else "error"), (text.strip().splitlines() or [""])[0]
    skipped = testcase.find("skipped")
    if skipped is not None:
        return "skipped", (skipped.get("message") or "").strip()
    return "passed", ""


def read_junit(path: Path, root: Path) -> tuple[list[TestResult], list[Suite]]:
    """Every testcase of a JUnit XML file (pytest's xunit1 or xunit2; <testsuites> or a bare <testsuite>)."""
    tree = ET.parse(path).getroot()
    suites = [tree] if tree.tag == "testsuite" else tree.findall("testsuite")
    results: list[TestResult] = []
    summaries: list[Suite] = []
    for suite in suites:
        name = suite.get("name", "pytest")
        counts: Counter = Counter()
        for testcase in suite.iter("testcase"):
            outcome, message = _outcome(testcase)
            counts[outcome] += 1
            results.append(TestResult(_nodeid(testcase.get("classname", ""), testcase.get("name", ""),
                                              testcase.get("file"), root), outcome, message, name))
        summaries.append(Suite(name, str(path), suite.get("timestamp", ""), suite.get("hostname", ""), counts))
    return results, summaries


def _check_ok(entry: dict) -> bool:
    for key in ("ok", "passed"):
        if key in entry:
            return bool(entry[key])
    return str(entry.get("status", "")).lower() in ("ok", "pass", "passed", "success", "green")


def read_lab(path: Path) -> LabRun:
    data = json.loads(path.read_text())
    entries = data if isinstance(data, list) else data.get("checks", [])
    checks = [LabCheck(str(e.get("name") or e.get("id") or "?"), str(e.get("host", "")), _check_ok(e),
                       str(e.get("measured") or e.get("detail") or e.get("output") or ""))
              for e in entries]
    return LabRun(data.get("environment", {}) if isinstance(data, dict) else {}, checks)


def rpm_facts(output: Path, version: str | None) -> list[tuple[str, str]]:
    """(label, value) rows for the package under test: its name, the md5 fpb wrote, and whether it matches."""
    rpms = sorted(output.glob(f"*-{version}-*.rpm" if version else "*.rpm"))
    if not rpms:
        return [("Plugin RPM", f"none found in {output}: the report describes no built package")]
    rpm = rpms[-1]
    actual = hashlib.md5(rpm.read_bytes()).hexdigest()  # noqa: S324 - the catalogue's published checksum is md5
    md5_files = sorted(output.glob(f"*{version}_md5.txt" if version else "*_md5.txt"))
    published = md5_files[-1].read_text().split()[0] if md5_files else ""
    if not published:
        verdict = "no md5 file next to the RPM"
    elif published == actual:
        verdict = f"matches {md5_files[-1].name}"
    else:
        verdict = f"DOES NOT MATCH {md5_files[-1].name} ({published})"
    return [("Plugin RPM", rst.literal(rpm.name)), ("RPM md5", f"{rst.literal(actual)} ({verdict})")]


def interpreter_version(python: Path) -> str:
    if not python.exists():
        return ""
    out = subprocess.run([str(python), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip()


# --- judging each case --------------------------------------------------------------------------------------------

def _matches(nodeid: str, pattern: str) -> bool:
    """A pattern is a node id, a prefix of one (a directory or a file), or a shell-style wildcard."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(nodeid, pattern) or fnmatch.fnmatchcase(nodeid.split("::")[0], pattern)
    return nodeid == pattern or nodeid.startswith(pattern.rstrip("/") + ("::" if pattern.endswith(".py") else "/")) \
        or nodeid.startswith(pattern + "::")


def _short(nodeid: str) -> str:
    """The test's name within its file: the file is already named by the evidence line above it."""
    return nodeid.split("::", 1)[-1]


def evaluate(case: plan.Case, results: list[TestResult], lab: LabRun | None) -> CaseResult:
    """fail if any evidence failed; pass if some evidence passed; else not run (why is in the evidence)."""
    evidence: list[str] = []
    passed = failed = 0
    for pattern in case.tests:
        hits = [r for r in results if _matches(r.nodeid, pattern)]
        counts = Counter(r.outcome for r in hits)
        bad = [r for r in hits if r.outcome in ("failed", "error")]
        passed += counts["passed"]
        failed += len(bad)
        if not hits:
            evidence.append(f"{rst.literal(pattern)}: no such test in this run")
            continue
        summary = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts[k])
        evidence.append(f"{rst.literal(pattern)}: {summary}")
        evidence.extend(f"FAILED {rst.literal(_short(r.nodeid))}" + (f" ({rst.escape(r.suite)})" if r.suite else "")
                        + (f": {rst.escape(r.message[:150])}" if r.message else "") for r in bad[:_SHOWN_FAILURES])
        if len(bad) > _SHOWN_FAILURES:
            evidence.append(f"... and {len(bad) - _SHOWN_FAILURES} more failures")
    for pattern in case.lab:
        if lab is None:
            evidence.append(f"lab {rst.literal(pattern)}: not run (no lab results given)")
            continue
        hits = [c for c in lab.checks if fnmatch.fnmatch(c.name.lower(), pattern.lower())]
        if not hits:
            evidence.append(f"lab {rst.literal(pattern)}: no such check in the lab run")
        for check in hits:
            passed += check.ok
            failed += not check.ok
            where = f" on {check.host}" if check.host else ""
            evidence.append(f"lab {rst.literal(check.name)}{where}: {'ok' if check.ok else 'FAILED'}"
                            + (f", measured: {rst.escape(check.measured[:300])}" if check.measured else ""))
    if not case.automated:
        evidence.append("manual: " + rst.escape(case.manual))
    status = FAIL if failed else PASS if passed else NOT_RUN
    return CaseResult(case, status, evidence)


# --- rendering ----------------------------------------------------------------------------------------------------

def _environment_rows(lab: LabRun | None, suites: list[Suite], node_pythons: list[str]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    env = lab.environment if lab else {}
    hosts = env.get("hosts", [])
    if lab is None:
        rows.append(("Lab", "not run (no lab results given): lab evidence is marked not run"))
    else:
        rows.append(("Lab topology", rst.escape(env.get("topology", "")) or
                     rst.escape(", ".join(f"{h.get('name')} ({h.get('kind') or h.get('role', '')})" for h in hosts))
                     or "not described by the lab run"))
    versions = sorted({str(h["xenserver"]) for h in hosts if h.get("xenserver")})
    rows.append(("XenServer versions covered", ", ".join(versions) if versions else "none measured (no lab hosts)"))
    pythons = sorted({str(h["python"]) for h in hosts if h.get("python")}) or node_pythons
    rows.append(("Node Python", ", ".join(rst.escape(p) for p in pythons) if pythons else "unknown"))
    for suite in suites:
        counts = ", ".join(f"{suite.counts[k]} {k}" for k in ("passed", "failed", "error", "skipped"))
        rows.append((f"Test run {rst.escape(suite.name)}",
                     f"{counts}; {rst.escape(suite.timestamp)} on {rst.escape(suite.hostname)} "
                     f"({rst.literal(Path(suite.path).name)})"))
    return rows


def _status(status: str) -> str:
    return f"**{status.upper()}**" if status == FAIL else status


def run_totals(suites: list[Suite]) -> Counter:
    """outcome -> count over every run: the report's totals and the terminal's summary line."""
    totals: Counter = Counter()
    for suite in suites:
        totals.update(suite.counts)
    return totals


def render(results: list[CaseResult], suites: list[Suite], package: list[tuple[str, str]],
           environment: list[tuple[str, str]], generated: dt.datetime) -> str:
    """The report body: package, environment, one row per case, totals."""
    case_totals = Counter(r.status for r in results)
    tests = run_totals(suites)
    out = [f"Generated {generated:%Y-%m-%d %H:%M} UTC from the results listed below; do not edit.\n",
           rst.heading("Package under test", "-"),
           rst.list_table(None, package, widths=[25, 75]),
           rst.heading("Environment", "-"),
           rst.list_table(None, environment, widths=[25, 75]),
           rst.heading("Results by Test Plan case", "-"),
           # The evidence goes below the table: a table row cannot span pages in the PDF, and one case's
           # evidence (every lab check) is longer than a page.
           rst.list_table(["Case", "Result", "Evidence"],
                          [(f"**{r.case.id}**", _status(r.status), rst.escape(r.case.title)
                            + f" ({len(r.evidence)} item{'s' if len(r.evidence) != 1 else ''} under {r.case.id} below)")
                           for r in results], widths=[12, 12, 76]),
           rst.heading("Evidence by case", "-"),
           *(f"{rst.heading(f'{r.case.id}: {rst.escape(r.case.title)} ({r.status})', '~')}"
             + ("\n".join(f"* {line}" for line in r.evidence) or "none") + "\n"
             for r in results),
           rst.heading("Totals", "-"),
           rst.list_table(["", "pass", "fail", "not run", "total"],
                          [("Test Plan cases", str(case_totals[PASS]), str(case_totals[FAIL]),
                            str(case_totals[NOT_RUN]), str(len(results)))], widths=[40, 15, 15, 15, 15]),
           "",
           rst.list_table(["", "passed", "failed", "error", "skipped", "total"],
                          [("Automated tests (all runs)", *(str(tests[k]) for k in
                                                            ("passed", "failed", "error", "skipped")),
                            str(sum(tests.values())))], widths=[40, 12, 12, 12, 12, 12])]
    return "\n".join(out)


def judge(junit: list[Path], lab_json: Path | None, root: Path, cases_file: Path = plan.CASES_FILE
          ) -> Judged:
    """Read the results and judge every Test Plan case against them."""
    test_results: list[TestResult] = []
    suites: list[Suite] = []
    for path in junit:
        found, summaries = read_junit(path, root)
        test_results.extend(found)
        suites.extend(summaries)
    lab = read_lab(lab_json) if lab_json else None
    return [evaluate(case, test_results, lab) for case in plan.load(cases_file)], suites, lab


def summary_line(results: list[CaseResult], suites: list[Suite]) -> str:
    """One line for the terminal, with the same numbers as the report's totals."""
    cases = Counter(r.status for r in results)
    tests = run_totals(suites)
    return (f"Test Report: {cases[PASS]} pass, {cases[FAIL]} fail, {cases[NOT_RUN]} not run of {len(results)} "
            f"cases; tests: {tests['passed']} passed, {tests['failed']} failed, {tests['error']} error, "
            f"{tests['skipped']} skipped")


def build_report(junit: list[Path], lab_json: Path | None, output: Path, version: str | None, root: Path,
                 node_pythons: list[str], cases_file: Path = plan.CASES_FILE,
                 now: dt.datetime | None = None) -> str:
    """Everything needed for the report page, from files."""
    return report_page(judge(junit, lab_json, root, cases_file), bool(junit), output, version, node_pythons, now)


def report_page(judged: Judged, have_results: bool, output: Path, version: str | None, node_pythons: list[str],
                now: dt.datetime | None = None) -> str:
    """The report page from results judge() already read (docs.build also prints their summary_line)."""
    results, suites, lab = judged
    preface = "" if have_results else ("**No test results were given: every case shows as not run.** "
                                       "Run ``make report`` to produce a report from a real run.\n\n")
    return preface + render(results, suites, rpm_facts(output, version),
                            _environment_rows(lab, suites, node_pythons),
                            now or dt.datetime.now(dt.UTC))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the Test Report body (reST) from test results.")
    parser.add_argument("--junit", type=Path, action="append", default=[])
    parser.add_argument("--lab-json", type=Path)
    parser.add_argument("--rpm-dir", type=Path, default=Path("output"))
    parser.add_argument("--version")
    args = parser.parse_args(argv)
    print(build_report(args.junit, args.lab_json, args.rpm_dir, args.version, Path.cwd(), []))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
