"""Neutron's rootwrap filters on every compute VM, as Fuel's neutron packages install them before the plugin runs.

The plugin's /etc/neutron/rootwrap.conf reads them from /etc/neutron/rootwrap.d; neutron-rootwrap-xen-dom0 checks
a command against them before sending it to Dom0 (lab/verify_hypervisor.py). They come from Neutron Train in
.work/venv-nova27 (requirements/nova-train.txt); without that venv nothing is installed and the verify row says why.
"""
from __future__ import annotations

from typing import Any

from lab.fuellab import FuelLab
from lab.paths import NOVA_VENV

FILTERS_SOURCE = NOVA_VENV / "etc" / "neutron" / "rootwrap.d"
FILTERS_DIR = "/etc/neutron/rootwrap.d"


def filter_files() -> dict[str, tuple[bytes, int]]:
    if not FILTERS_SOURCE.is_dir():
        return {}
    sources = sorted(FILTERS_SOURCE.glob("*.filters"))
    return {f"{FILTERS_DIR}/{path.name}": (path.read_bytes(), 0o644) for path in sources}


def setup(lab: Any, env: Any, fuel: FuelLab) -> None:
    files = filter_files()
    if files:
        for node in fuel.computes():
            lab.host(node.name).write_files(files)
