"""The Test Plan's cases (docs/test_plan/cases.yaml): loaded, checked and rendered as the Test Plan page."""
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from docs.tools import rst

CASES_FILE = Path(__file__).resolve().parent.parent / "test_plan" / "cases.yaml"


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    steps: list[str]
    expected: str
    tests: list[str] = field(default_factory=list)   # pytest node id patterns
    lab: list[str] = field(default_factory=list)     # lab verify check name patterns
    manual: str = ""                                 # what is not automated here, and why

    @property
    def automated(self) -> bool:
        return bool(self.tests or self.lab)


class CasesError(ValueError):
    pass


def load(path: Path = CASES_FILE) -> list[Case]:
    """The cases in file order; a malformed file fails loudly so the docs never show a half plan."""
    data = yaml.safe_load(path.read_text()) or {}
    cases: list[Case] = []
    for entry in data.get("cases", []):
        try:
            case = Case(**entry)
        except TypeError as error:
            raise CasesError(f"{path}: case {entry.get('id', '?')}: {error}") from None
        if not case.automated and not case.manual:
            raise CasesError(f"{path}: case {case.id} has no automated evidence and no reason why (manual)")
        cases.append(case)
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CasesError(f"{path}: duplicate case ids {', '.join(duplicates)}")
    if not cases:
        raise CasesError(f"{path}: no cases")
    return cases


def _coverage(case: Case) -> str:
    lines = []
    if case.tests:
        lines.append("Automated by the tests " + ", ".join(rst.literal(t) for t in case.tests) + ".")
    if case.lab:
        lines.append("Lab checks (``python -m lab verify``): " + ", ".join(rst.literal(c) for c in case.lab) + ".")
    if case.manual:
        lines.append(("Not automated here: " if not case.automated else "Only on a real installation: ")
                     + case.manual.strip())
    return "\n\n".join(lines)


def render_plan(cases: list[Case]) -> str:
    """One section per case (ID, steps, expected result, coverage), then a summary table."""
    out = [rst.heading("Summary", "-"),
           rst.list_table(["ID", "Case", "Automated evidence"],
                          [(c.id, rst.escape(c.title),
                            "yes" + (", partly manual" if c.manual else "") if c.automated else "manual only")
                           for c in cases], widths=[12, 63, 25]),
           ""]
    for case in cases:
        out.append(f".. _{case.id.lower()}:\n")
        out.append(rst.heading(f"{case.id}: {case.title}", "-"))
        out.append("**Steps**\n")
        out.extend(f"#. {step.strip()}" for step in case.steps)
        out.append("")
        out.append(f"**Expected result**: {case.expected.strip()}\n")
        out.append(f"**Coverage**: {_coverage(case)}\n")
    return "\n".join(out)
