"""The lab's results as JSON, the machine-readable evidence the Test Report is generated from."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

from lab.deploy import Report
from lab.fuellab import FuelLab
from lab.paths import node_python
from lab.verify import Check


def python_version(variant: str) -> str:
    """The exact version of the interpreter the lab's nodes run as `python`."""
    out = subprocess.run([str(node_python(variant)), "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or variant


def task_checks(report: Report) -> list[dict]:
    """Each deployment task that ran, as a check: a failed task is failing evidence."""
    return [{"name": f"task:{result.task}", "host": result.node, "ok": result.status in ("ok", "noop"),
             "measured": f"{result.status} in {result.seconds:.1f}s (exit {result.exit_code})"}
            for result in report.results if result.status != "skipped"]


def write(path: Path, fuel: FuelLab, topology: str, checks: list[Check], report: Report | None = None,
          python_variant: str | None = None) -> None:
    hosts: list[dict] = [{"name": host["name"], "kind": "dom0", "xenserver": host["version"],
                          "sr": host["sr_type"], "hotfixes": host["hotfixes"]} for host in fuel.xenhosts]
    python = python_version(python_variant) if python_variant else None
    for node in fuel.nodes:
        entry = {"name": node.name, "kind": "node", "roles": node.roles}
        if python:
            entry["python"] = python
        hosts.append(entry)
    data = {"environment": {"topology": topology, "source": fuel.source, "hosts": hosts},
            "checks": [asdict(check) for check in checks] + (task_checks(report) if report else [])}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
