"""Issue 8 without a lab: the Nova Train lock, the harness's command line, the verify row's parsing."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from lab import verify, verify_hypervisor
from lab.xenserver.config import HostConfig
from tests.paths import REFERENCE, REPO

LOCK = REPO / "requirements" / "nova-train.txt"
UPPER_CONSTRAINTS = REFERENCE / "openstack-train-upper-constraints.txt"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path, separator: str) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if separator in line:
            name, version = line.split(";", 1)[0].split(separator, 1)
            found.setdefault(normalized(name), set()).add(version.strip())
    return found


def test_lock_pins_nova_train_os_xenapi_and_neutron_train():
    lock = pins(LOCK, "==")
    assert lock["nova"] == {"20.6.1"} and lock["os-xenapi"] == {"0.3.4"} and lock["neutron"] == {"15.3.4"}
    assert all(len(versions) == 1 for versions in lock.values())


@pytest.mark.skipif(not UPPER_CONSTRAINTS.exists(), reason=f"no {UPPER_CONSTRAINTS}")
def test_every_pin_but_nova_is_trains_upper_constraint():
    constraints = pins(UPPER_CONSTRAINTS, "===")
    lock = pins(LOCK, "==")
    off = {name: versions for name, versions in lock.items()
           if name != "nova" and not versions <= constraints.get(name, set())}
    assert off == {}


def test_dom0_links_reads_ip_link_show():
    output = ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT\n"
              "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
              "7: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master xenapi state UP\n"
              "    link/ether 52:54:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netns lab-sw\n"
              "8: xenapi: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT\n")
    assert verify_hypervisor.dom0_links(output) == ["lo", "eth0", "xenapi"]


def test_expected_resources_are_the_hosts_and_its_default_srs():
    config = HostConfig.default("xs-3", "7.1.0")
    assert verify_hypervisor.expected_resources(config) == {
        "hypervisor_type": "XenServer", "hypervisor_hostname": "xs-3", "vcpus": config.cpu_count,
        "memory_mb": config.memory // 2**20, "local_gb": config.default_sr.physical_size // 2**30}


def test_rows_are_discovered_by_verify():
    assert verify_hypervisor.checks in verify.extra_checks()


@pytest.mark.skipif(verify_hypervisor.venv_missing() is not None, reason="no .work/venv-nova27")
def test_harness_reports_a_missing_config_as_json_under_python27():
    done = subprocess.run([str(verify_hypervisor.NOVA_PYTHON), str(verify_hypervisor.HARNESS),
                           "--config-file", "/nonexistent/nova.conf"], capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["ok"] is False and report["stage"] == "config"
    assert "nonexistent" in report["error"]
