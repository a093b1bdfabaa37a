"""The Test Report maps real test results to the Test Plan's cases: pass, fail or not run, with honest totals."""
import datetime as dt
import hashlib
import json
import re
import textwrap
from pathlib import Path

import pytest
from docutils.core import publish_doctree

from docs.tools import report

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="1.0"
  timestamp="2026-11-26T10:00:00" hostname="ci">
 <testcase classname="tests.builder.test_a" name="test_ok" time="0.1"/>
 <testcase classname="tests.builder.test_a" name="test_bad" time="0.1">
   <failure message="AssertionError: 2 != 3">trace</failure></testcase>
 <testcase classname="tests.builder.test_a" name="test_skip" time="0.0">
   <skipped type="pytest.skip" message="needs root">skip</skipped></testcase>
 <testcase classname="tests.builder.test_b" name="test_ok2[python2.7]" time="0.1"/>
 <testcase classname="node.tests.test_c.TestHimn" name="test_method" time="0.1">
   <error message="fixture failed">trace</error></testcase>
</testsuite></testsuites>
"""
# pytest 4.6 (the Python 2.7 node venv) writes a bare <testsuite> and, with xunit1, a file attribute.
JUNIT_PY27 = """<?xml version="1.0" encoding="utf-8"?>
<testsuite name="node-python-2.7" errors="0" failures="0" skipped="0" tests="1" time="0.5">
 <testcase classname="node.tests.test_c.TestHimn" file="node/tests/test_c.py" name="test_other" time="0.1"/>
</testsuite>
"""
LAB = {"environment": {"topology": "2 XenServer hosts, 1 controller", "hosts": [
           {"name": "xs1", "kind": "dom0", "xenserver": "7.0.0"},
           {"name": "xs2", "kind": "dom0", "xenserver": "7.1.0"},
           {"name": "compute-1", "kind": "node", "python": "2.7.18"}]},
       "checks": [{"name": "HIMN compute-1->169.254.0.1", "host": "compute-1", "ok": True, "measured": "HTTP 200"},
                  {"name": "Dom0 xs1->storage via compute-1", "host": "xs1", "ok": False,
                   "measured": "no route to 192.168.1.2"}]}
CASES = """
cases:
  - {id: A, title: fails, steps: [s], expected: e, tests: [tests/builder/test_a.py]}
  - {id: B, title: passes, steps: [s], expected: e, tests: [tests/builder/test_b.py]}
  - {id: C, title: missing test, steps: [s], expected: e, tests: [tests/missing.py]}
  - {id: D, title: lab passes, steps: [s], expected: e, lab: ["*himn*"]}
  - {id: E, title: lab fails, steps: [s], expected: e, lab: ["*storage*"]}
  - {id: F, title: manual, steps: [s], expected: e, manual: needs a Fuel master}
  - {id: G, title: class error, steps: [s], expected: e, tests: ["node/tests/test_c.py::TestHimn::test_m*"]}
  - {id: H, title: only skipped, steps: [s], expected: e, tests: ["tests/builder/test_a.py::test_skip"]}
  - {id: I, title: py27 suite, steps: [s], expected: e, tests: ["node/tests/test_c.py::TestHimn::test_other"]}
"""
EXPECTED = {"A": "fail", "B": "pass", "C": "not run", "D": "pass", "E": "fail", "F": "not run", "G": "fail",
            "H": "not run", "I": "pass"}


@pytest.fixture
def run(tmp_path: Path) -> dict:
    root = tmp_path / "repo"
    for module in ("tests/builder/test_a.py", "tests/builder/test_b.py", "node/tests/test_c.py"):
        (root / module).parent.mkdir(parents=True, exist_ok=True)
        (root / module).write_text("")
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "junit-py27.xml").write_text(JUNIT_PY27)
    (tmp_path / "lab.json").write_text(json.dumps(LAB))
    (tmp_path / "cases.yaml").write_text(textwrap.dedent(CASES))
    output = tmp_path / "output"
    output.mkdir()
    rpm = output / "fuel-plugin-xenserver-4.0-4.0.7-1.noarch.rpm"
    rpm.write_bytes(b"not really an rpm")
    (output / "fuel-plugin-xenserver-4.0.7_md5.txt").write_text(
        hashlib.md5(rpm.read_bytes()).hexdigest() + "  " + rpm.name + "\n")
    return {"root": root, "junit": [tmp_path / "junit.xml", tmp_path / "junit-py27.xml"],
            "lab": tmp_path / "lab.json", "cases": tmp_path / "cases.yaml", "output": output}


def _results(run: dict, lab: bool = True) -> dict[str, str]:
    tests = []
    for path in run["junit"]:
        tests.extend(report.read_junit(path, run["root"])[0])
    lab_run = report.read_lab(run["lab"]) if lab else None
    return {case.id: report.evaluate(case, tests, lab_run).status for case in report.plan.load(run["cases"])}


def test_junit_test_cases_get_pytest_node_ids(run):
    tests, suites = report.read_junit(run["junit"][0], run["root"])
    assert [t.nodeid for t in tests] == [
        "tests/builder/test_a.py::test_ok", "tests/builder/test_a.py::test_bad", "tests/builder/test_a.py::test_skip",
        "tests/builder/test_b.py::test_ok2[python2.7]", "node/tests/test_c.py::TestHimn::test_method"]
    assert [t.outcome for t in tests] == ["passed", "failed", "skipped", "passed", "error"]
    assert suites[0].counts == {"passed": 2, "failed": 1, "skipped": 1, "error": 1}


def test_each_case_is_pass_fail_or_not_run(run):
    assert _results(run) == EXPECTED


def test_without_lab_results_lab_cases_are_not_run(run):
    results = _results(run, lab=False)
    assert results["D"] == results["E"] == "not run"
    assert results["A"] == "fail" and results["B"] == "pass"


def _table_rows(doctree, title: str) -> list[list[str]]:
    section = next(s for s in doctree.findall(lambda n: n.tagname == "section") if s[0].astext() == title)
    return [[entry.astext() for entry in row.children] for row in section.findall(lambda n: n.tagname == "row")]


def test_rendered_report_shows_every_case_and_totals_that_match_the_run(run):
    text = report.build_report(run["junit"], run["lab"], run["output"], "4.0.7", run["root"], ["Python 2.7.18"],
                               cases_file=run["cases"], now=dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC))
    doctree = publish_doctree("Report\n======\n\n" + text, settings_overrides={"halt_level": 2})
    rows = _table_rows(doctree, "Results by Test Plan case")[1:]
    shown = {row[0].split()[0]: row[1] for row in rows}
    assert {case: status.lower() for case, status in shown.items()} == EXPECTED
    assert "2026-11-26 12:00" in text
    totals = _table_rows(doctree, "Totals")
    cases_row = next(r for r in totals if r[0] == "Test Plan cases")
    assert cases_row[1:] == ["3", "3", "3", "9"]          # pass, fail, not run, total
    tests_row = next(r for r in totals if r[0].startswith("Automated tests"))
    assert tests_row[1:] == ["3", "1", "1", "1", "6"]     # passed, failed, error, skipped, total
    environment = dict(r[:2] for r in _table_rows(doctree, "Environment") if len(r) >= 2)
    assert environment["XenServer versions covered"] == "7.0.0, 7.1.0"
    assert environment["Node Python"] == "2.7.18"
    package = dict(r[:2] for r in _table_rows(doctree, "Package under test"))
    assert package["Plugin RPM"] == "fuel-plugin-xenserver-4.0-4.0.7-1.noarch.rpm"
    assert re.search(r"matches fuel-plugin-xenserver-4.0.7_md5.txt", package["RPM md5"])


def test_failing_evidence_is_named_in_the_report(run):
    text = report.build_report(run["junit"], run["lab"], run["output"], "4.0.7", run["root"], [],
                               cases_file=run["cases"])
    assert "FAILED ``test_bad``" in text and "2 != 3" in text
    assert "no route to 192.168.1.2" in text


def test_a_tampered_rpm_is_flagged(run):
    rpm = next(run["output"].glob("*.rpm"))
    rpm.write_bytes(b"changed after the md5 was written")
    facts = dict(report.rpm_facts(run["output"], "4.0.7"))
    assert "DOES NOT MATCH" in facts["RPM md5"]


def test_summary_line_has_the_report_totals(run):
    results, suites, _ = report.judge(run["junit"], run["lab"], run["root"], run["cases"])
    assert report.summary_line(results, suites) == (
        "Test Report: 3 pass, 3 fail, 3 not run of 9 cases; tests: 3 passed, 1 failed, 1 error, 1 skipped")


def test_reads_the_lab_verify_checks_as_the_lab_defines_them(tmp_path):
    """Contract with lab.verify: its Check records, dumped as JSON, are the report's lab evidence."""
    import dataclasses

    from lab.verify import Check

    checks = [Check("HIMN node-3->169.254.0.1", "node-3", True, "HTTP 200 from 169.254.0.1:80"),
              Check("Dom0 xs1->storage via node-3", "xs1", False, "timeout")]
    path = tmp_path / "lab.json"
    path.write_text(json.dumps({"checks": [dataclasses.asdict(c) for c in checks]}))
    lab = report.read_lab(path)
    assert [(c.name, c.host, c.ok, c.measured) for c in lab.checks] == [dataclasses.astuple(c) for c in checks]
