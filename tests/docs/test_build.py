"""The three documents build with Sphinx -W (a warning fails), to HTML, and to a PDF whose pages render."""
import shutil
import subprocess
from pathlib import Path

import pytest

from builder.version import plugin_version
from docs import build
from tests.paths import REPO


@pytest.fixture(scope="module")
def inputs() -> build.Inputs:
    return build.Inputs(junit=[], lab_json=None, rpm_dir=REPO / "output", version=plugin_version())


def test_all_documents_build_to_html_without_warnings(tmp_path, inputs):
    products = build.build(list(build.DOCUMENTS), tmp_path / "out", inputs, ["html"], staging=tmp_path / "stage")
    assert [p.parent.name for p in products] == ["user-guide", "test-plan", "test-report"]
    guide = (tmp_path / "out" / "user-guide" / "troubleshooting.html").read_text()
    assert "/var/log/fuel-plugin-xenserver/" in guide and "Raised by" in guide
    assert inputs.version in (tmp_path / "out" / "user-guide" / "index.html").read_text()
    assert (tmp_path / "stage" / "user_guide" / "src" / "generated" / "topology.svg").is_file()


def test_a_warning_fails_the_build(tmp_path, inputs):
    def broken(src: Path, _inputs: build.Inputs) -> None:
        (src / "generated").mkdir()
        (src / "generated" / "cases.inc").write_text("See :ref:`no-such-label`.\n")

    with pytest.raises(build.BuildError, match="no-such-label"):
        build.build([build.Document("test_plan", "test-plan", broken)], tmp_path / "out", inputs, ["html"],
                    staging=tmp_path / "stage")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm, pdftotext) not installed")
def test_pdf_has_the_version_and_its_first_page_renders(tmp_path, inputs):
    plan = next(d for d in build.DOCUMENTS if d.name == "test_plan")
    [pdf] = build.build([plan], tmp_path / "out", inputs, ["pdf"], staging=tmp_path / "stage")
    assert pdf.name == f"fuel-plugin-xenserver-test-plan-{inputs.version}.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Plugin version {inputs.version}" in text and "Verify the hypervisor type" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    [page] = tmp_path.glob("page*.png")
    assert page.stat().st_size > 10_000, "a rendered page with text is not a near-empty image"


def test_report_pdf_with_a_page_of_evidence_per_case_finishes(tmp_path):
    """Every lab check is evidence of one case: far more than a page. The PDF must still build, quickly
    (a table row taller than a page sends rinohtype into an endless layout loop)."""
    import json
    import sys

    checks = [{"name": f"check {n} of a long lab run", "host": f"node-{n}", "ok": True,
               "measured": "measured with real traffic: " + "HTTP 200 in 3 ms from 192.168.1.12:8080; " * 5}
              for n in range(80)]
    lab_json = tmp_path / "lab.json"
    lab_json.write_text(json.dumps({"environment": {"hosts": []}, "checks": checks}))
    result = subprocess.run([sys.executable, "-m", "docs.build", "--out", str(tmp_path / "out"), "--only",
                             "test_report", "--formats", "pdf", "--lab-json", str(lab_json)],
                            cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((tmp_path / "out").glob("fuel-plugin-xenserver-test-report-*.pdf"))
