"""Build the User Guide, Test Plan and Test Report to HTML and PDF, branded with the plugin's version.

    .work/venv/bin/python -m docs.build --out output/docs [--junit FILE ...] [--lab-json FILE] [--only user_guide]

Each document's sources are staged under .work/docs/<document>/src with their generated parts (settings
tables, error catalogue, diagram, test cases, report), so nothing generated is written into docs/. Sphinx
runs with -W --keep-going: any warning fails the build. PDFs are made by rinohtype (pure Python, from PyPI);
the diagram needs Graphviz's `dot` (Debian package graphviz).
"""
import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from builder.version import plugin_version
from docs.tools import cases, errors_catalogue, report, settings_tables

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
PLUGIN = REPO / "plugin"
NODE_PACKAGE = REPO / "node" / "xenserver_plugin"
STAGING = REPO / ".work" / "docs"
DEFAULT_RESULTS = REPO / "output" / "test-results"


@dataclass(frozen=True)
class Inputs:
    junit: list[Path]
    lab_json: Path | None
    rpm_dir: Path
    version: str


@dataclass(frozen=True)
class Document:
    name: str        # folder under docs/, and DOCS_DOCUMENT for conf.py
    slug: str        # output names: <out>/<slug>/ (HTML) and fuel-plugin-xenserver-<slug>-<version>.pdf
    generate: Callable[[Path, Inputs], None]


class BuildError(Exception):
    pass


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def draw_diagram(source: Path, target_dir: Path) -> None:
    """SVG for HTML, PDF for the PDF build (Sphinx picks the format per builder from `name.*`)."""
    dot = shutil.which("dot")
    if dot is None:
        raise BuildError("Graphviz's dot is needed to draw the network diagram: apt-get install graphviz")
    target_dir.mkdir(parents=True, exist_ok=True)
    for fmt in ("svg", "pdf"):
        proc = subprocess.run([dot, f"-T{fmt}", "-o", str(target_dir / f"{source.stem}.{fmt}"), str(source)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"dot cannot draw {source.name}: {proc.stderr.strip()}")


def generate_user_guide(src: Path, inputs: Inputs) -> None:
    generated = src / "generated"
    attributes = settings_tables.load_attributes(PLUGIN / "environment_config.yaml")
    component = settings_tables.load_component(PLUGIN / "components.yaml")
    _write(generated / "settings.inc", settings_tables.settings_table(attributes))
    _write(generated / "restrictions.inc", settings_tables.restrictions_table(attributes))
    _write(generated / "incompatible.inc", settings_tables.incompatible_table(component))
    _write(generated / "compatible.inc", settings_tables.compatible_list(component))
    _write(generated / "component.inc", settings_tables.component_summary(component))
    trees = errors_catalogue.parse_package(NODE_PACKAGE)
    messages, problems = errors_catalogue.collect(NODE_PACKAGE, trees)
    _write(generated / "errors.inc",
           errors_catalogue.render(messages, problems, errors_catalogue.module_summaries(NODE_PACKAGE, trees)))
    draw_diagram(src / "topology.dot", generated)


def generate_test_plan(src: Path, inputs: Inputs) -> None:
    _write(src / "generated" / "cases.inc", cases.render_plan(cases.load()))


def generate_test_report(src: Path, inputs: Inputs) -> None:
    node_python = report.interpreter_version(REPO / ".work" / "venv-node27" / "bin" / "python")
    judged = report.judge(inputs.junit, inputs.lab_json, REPO)
    _write(src / "generated" / "report.inc", report.report_page(judged, bool(inputs.junit), inputs.rpm_dir,
                                                                inputs.version, [node_python] if node_python else []))
    print(report.summary_line(*judged[:2]), flush=True)


DOCUMENTS = (
    Document("user_guide", "user-guide", generate_user_guide),
    Document("test_plan", "test-plan", generate_test_plan),
    Document("test_report", "test-report", generate_test_report),
)


def stage(document: Document, inputs: Inputs, staging: Path = STAGING) -> Path:
    """A fresh copy of docs/<name>/ plus its generated parts."""
    src = staging / document.name / "src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(DOCS / document.name, src)
    document.generate(src, inputs)
    return src


def sphinx(document: Document, src: Path, builder: str, out: Path, version: str, doctrees: Path) -> str:
    """Run sphinx-build; returns its warnings/errors (empty on success), never raises."""
    env = {**os.environ, "DOCS_DOCUMENT": document.name, "DOCS_VERSION": version,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", builder,
                           "-c", str(DOCS), "-d", str(doctrees), str(src), str(out)],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"{document.name} ({builder}) failed:\n{proc.stdout}{proc.stderr}"
    return ""


def pdf_name(document: Document, version: str) -> str:
    """fuel-plugin-xenserver-<slug>-<version>.pdf in the output directory (version "*" globs every version)."""
    return f"fuel-plugin-xenserver-{document.slug}-{version}.pdf"


def build(documents: list[Document], out: Path, inputs: Inputs, formats: list[str],
          staging: Path = STAGING) -> list[Path]:
    """Stage and build every document in every format; returns the products, raises BuildError on warnings."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for document in documents:
        src = stage(document, inputs, staging)
        if "html" in formats:
            jobs.append((document, src, "html", out / document.slug))
        if "pdf" in formats:
            jobs.append((document, src, "rinoh", staging / document.name / "pdf"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failures = [f for f in pool.map(
            lambda job: sphinx(*job, inputs.version, staging / job[0].name / f"doctrees-{job[2]}"), jobs) if f]
    if failures:
        raise BuildError("\n".join(failures))
    products = []
    for document, _src, builder, target in jobs:
        if builder == "html":
            products.append(target / "index.html")
            continue
        for older in out.glob(pdf_name(document, "*")):
            older.unlink()  # one version of each document, like the RPM in output/
        pdf = out / pdf_name(document, inputs.version)
        shutil.copyfile(target / f"{document.slug}.pdf", pdf)
        products.append(pdf)
    return products


def write_index(out: Path, version: str) -> Path:
    """output/docs/index.html: one page linking every document built so far, HTML and PDF."""
    items = []
    for document in DOCUMENTS:
        html = out / document.slug / "index.html"
        pdf = out / pdf_name(document, version)
        links = [f'<a href="{p.relative_to(out)}">{label}</a>' for p, label in ((html, "HTML"), (pdf, "PDF"))
                 if p.is_file()]
        if links:
            title = document.name.replace("_", " ").title()
            items.append(f"<li>{title}: {', '.join(links)}</li>")
    index = out / "index.html"
    index.write_text(f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     f"<title>XenServer Plugin for Fuel {version}: documentation</title></head>\n<body>"
                     f"<h1>XenServer Plugin for Fuel {version}</h1>\n<ul>\n" + "\n".join(items)
                     + "\n</ul>\n</body></html>\n")
    return index


def _results_from(directory: Path) -> tuple[list[Path], Path | None]:
    """The last `make report` run's results, if any: junit*.xml and lab.json in output/test-results/."""
    lab = directory / "lab.json"
    return sorted(directory.glob("junit*.xml")), lab if lab.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "output" / "docs")
    parser.add_argument("--only", action="append", choices=[d.name for d in DOCUMENTS],
                        help="build only this document (repeatable)")
    parser.add_argument("--formats", default="html,pdf", help="comma-separated: html, pdf")
    parser.add_argument("--junit", type=Path, action="append",
                        help="pytest --junitxml output for the Test Report (repeatable; default: "
                             "output/test-results/junit*.xml when present)")
    parser.add_argument("--lab-json", type=Path, help="`python -m lab verify` results as JSON "
                                                      "(default: output/test-results/lab.json when present)")
    parser.add_argument("--rpm-dir", type=Path, default=REPO / "output", help="where the built RPM and md5 are")
    args = parser.parse_args(argv)

    default_junit, default_lab = _results_from(DEFAULT_RESULTS)
    junit = args.junit if args.junit is not None else default_junit
    lab_json = args.lab_json or (default_lab if args.junit is None else None)
    for path in [*junit, *([lab_json] if lab_json else [])]:
        if not path.is_file():
            print(f"docs: {path} does not exist", file=sys.stderr)
            return 2
    inputs = Inputs(junit, lab_json, args.rpm_dir, plugin_version())
    documents = [d for d in DOCUMENTS if not args.only or d.name in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        products = build(documents, args.out.resolve(), inputs, [f.strip() for f in args.formats.split(",")])
    except (BuildError, cases.CasesError) as error:
        print(f"docs: {error}", file=sys.stderr)
        return 1
    for product in [*products, write_index(args.out.resolve(), inputs.version)]:
        print(product)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
