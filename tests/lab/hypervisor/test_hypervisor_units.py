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


class FakeHost:
    """A lab host answering `run` from a table of argv[-1] -> stdout (what the row reads)."""

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def run(self, argv, check=True, timeout=None):
        for key, stdout in self.answers.items():
            if key in argv:
                return subprocess.CompletedProcess(argv, 0, stdout, "")
        raise AssertionError(f"unexpected command {argv}")


class FakeLab:
    def __init__(self, hosts):
        self.hosts = hosts

    def host(self, name):
        return self.hosts[name]


def fake_lab(config: HostConfig, report: dict, calls: list[dict]) -> FakeLab:
    call_log = "".join(json.dumps(call) + "\n" for call in calls)
    return FakeLab({
        "node-3": FakeHost({str(verify_hypervisor.HARNESS): json.dumps(report) + "\n"}),
        "xs-3": FakeHost({verify_hypervisor.HOST_JSON: config.to_json(), verify_hypervisor.CALL_LOG: call_log}),
    })


def nova_answer(config: HostConfig, **changes) -> dict:
    return {"ok": True, "instances": ["node-3"], **verify_hypervisor.expected_resources(config), **changes}


NODE = verify_hypervisor.NodeInfo(name="node-3", uid="3", roles=["compute"], ips={}, dom0="xs-3")
ANSWERED = {"time": 4e9, "method": "SR.get_record", "status": "Success", "error": None}
UNKNOWN = {"time": 4e9, "method": "VM.get_frobnicate", "status": "Failure", "error": "MESSAGE_METHOD_UNKNOWN"}


@pytest.fixture
def venv_present(monkeypatch):
    monkeypatch.setattr(verify_hypervisor, "venv_missing", lambda: None)


def test_row_passes_when_nova_reports_the_declared_host(venv_present):
    config = HostConfig.default("xs-3", "7.1.0")
    row = verify_hypervisor.hypervisor(fake_lab(config, nova_answer(config), [ANSWERED]), NODE)
    assert row.ok and "Nova XenServer, host xs-3" in row.measured and "1 XenAPI calls, 0 unanswered" in row.measured


def test_row_fails_on_a_call_the_lab_could_not_answer(venv_present):
    config = HostConfig.default("xs-3", "7.1.0")
    row = verify_hypervisor.hypervisor(fake_lab(config, nova_answer(config), [ANSWERED, UNKNOWN]), NODE)
    assert not row.ok and "VM.get_frobnicate (MESSAGE_METHOD_UNKNOWN)" in row.measured


def test_row_fails_when_nova_reports_other_memory_or_hypervisor(venv_present):
    config = HostConfig.default("xs-3", "7.1.0")
    row = verify_hypervisor.hypervisor(fake_lab(config, nova_answer(config, memory_mb=1024), []), NODE)
    assert not row.ok and "memory_mb 1024" in row.measured
    row = verify_hypervisor.hypervisor(fake_lab(config, nova_answer(config, hypervisor_type="QEMU"), []), NODE)
    assert not row.ok and "hypervisor_type 'QEMU'" in row.measured


def test_row_fails_with_novas_error(venv_present):
    config = HostConfig.default("xs-3", "7.1.0")
    failed = {"ok": False, "stage": "load_compute_driver",
              "error": "Failure: ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure']"}
    row = verify_hypervisor.hypervisor(fake_lab(config, failed, []), NODE)
    assert not row.ok and row.measured.startswith("Nova load_compute_driver: Failure: ['SESSION_AUTHENTICATION_FAILED'")
