"""Where the lab finds the repo, its interpreters and its host-side scripts."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".work"
STATE_ROOT = WORK / "lab"
FILES = Path(__file__).resolve().parent / "files"
NODE_VENV = WORK / "venv-node27"
TOOLING_VENV = WORK / "venv"
NOVA_VENV = WORK / "venv-nova27"  # Nova/Neutron Train (requirements/nova-train.txt, `make venvs`)


def tooling_python() -> Path:
    """The Python 3.11 that runs the lab's own programs inside hosts (XenAPI server, xe)."""
    venv = TOOLING_VENV / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def node_python(variant: str) -> Path:
    """A node's `python`: the Python 2.7 venv by default, the tooling Python 3 when variant is '3'."""
    return NODE_VENV / "bin" / "python" if variant == "2.7" else tooling_python()


def site_packages(venv: Path) -> list[Path]:
    return sorted(p for p in (venv / "lib").glob("python*/site-packages") if p.is_dir())
