"""The compute pre-test task in the lab: HIMN link, Dom0 trust and host checks against a simulated XenServer.

One lab from the real Nailgun fixtures (xs-ha: three compute VMs) with three different hosts:
  node-12: XenServer 7.0, EXT SR        -> the task succeeds, a re-run and a dry run change nothing
  node-13: XenServer 6.5 without hotfix -> fails naming XS65ESP1013
  node-14: XenServer 7.1, LVM SR        -> fails explaining thin provisioning; first, a DHCP server that
                                           answers outside 169.254/16 makes the HIMN search fail
Each failure must be one paragraph without traceback, and leave nothing half-written.
The nodes' Python is 2.7 (Ubuntu 14.04's); LAB_NODE_PYTHON=3 runs the same tests with Python 3 nodes.
"""
from __future__ import annotations

import os
import re
import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import fuellab, runtime
from lab.delivery import find_rpm
from lab.environment import PLUGIN_SCRIPTS_PATH, HostChoice
from lab.errors import LabError
from lab.secrets import files_holding

PREFIX = "h4at"
PASSWORD = "Lab-Xen-pre-h4a"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fuel9" / "nailgun" / "xs-ha"
HOSTS = [HostChoice("7.0.0"), HostChoice("6.5.0", hotfixes=()), HostChoice("7.1.0", sr_type="lvm")]
LOG = "/var/log/fuel-plugin-xenserver/compute_pre_test.log"
MANAGED = ["/etc/network/interfaces", "/etc/network/interfaces.d", "/etc/dhcp/dhclient-enter-hooks.d",
           "/root/.ssh"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab tests need root (namespaces, veths, mounts)")


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Any, Any]]:
    if not FIXTURES.is_dir():
        pytest.skip(f"no Fuel fixtures at {FIXTURES}")
    try:
        find_rpm()
    except LabError as error:
        pytest.skip(f"no usable plugin RPM: {error}")
    runtime.down(PREFIX)
    lab, fuel = fuellab.up(PREFIX, fixtures=FIXTURES, hosts=HOSTS, password=PASSWORD,
                           python=os.environ.get("LAB_NODE_PYTHON", "2.7"))
    try:
        yield lab, fuel
    finally:
        runtime.down(PREFIX)


def run_task(host: Any, *args: str) -> tuple[int, str, float]:
    script = f"cd {shlex.quote(PLUGIN_SCRIPTS_PATH)} && python compute_pre_test.py {' '.join(args)}"
    start = time.monotonic()
    result = host.run(["/bin/sh", "-c", script], timeout=300, check=False)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - start


def state(host: Any) -> str:
    """What an operator would compare: files the task manages (with modes), addresses, routes."""
    script = ('for p in "$@"; do find "$p" -exec stat -c "%a %n" {} \\; 2>/dev/null; '
              'find "$p" -type f -exec sha256sum {} \\; 2>/dev/null; done; '
              "ip -o -4 addr show | sed 's/valid_lft.*//'; ip -o -4 route show")
    return host.run(["/bin/sh", "-c", script, "sh", *MANAGED]).stdout


class ArgvWatch:
    """Samples every process's argument list on the machine while a task runs, looking for a secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.seen: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    data = cmdline.read_bytes()
                except OSError:
                    continue
                if self.secret in data:
                    self.seen.append(data.replace(b"\0", b" ").decode(errors="replace"))
            self.samples += 1
            time.sleep(0.01)

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def one_paragraph_failure(code: int, out: str) -> str:
    assert code == 1, out
    assert "Traceback" not in out, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("compute_pre_test failed: "), out
    return last


def test_compute_vm_linked_and_trusted_then_nothing_changes(lab: tuple[Any, Any]) -> None:
    labhost, fuel = lab
    node = fuel.node("node-12")
    compute, dom0 = labhost.host(node.name), labhost.host(node.dom0)

    before = state(compute)
    code, out, _ = run_task(compute, "--dry-run")
    assert code == 0 and "would make" in out and "probe eth3 by DHCP" in out, out
    assert state(compute) == before, "the dry run changed the node"

    with ArgvWatch(PASSWORD) as watch:
        code, out, first = run_task(compute)
    assert code == 0, out
    assert watch.samples > 10 and watch.seen == [], watch.seen
    assert re.search(r"made [1-9]\d* changes; HIMN eth3 169\.254\.\d+\.\d+/16; XenServer 7\.0\.0", out), out
    routes = compute.run(["ip", "-o", "-4", "route", "show", "default"]).stdout
    assert "169.254.0.1" not in routes and "br-fw-admin" in routes, routes
    assert "iface eth3 inet dhcp" in compute.read_file("/etc/network/interfaces.d/ifcfg-eth3")
    assert compute.run(["stat", "-c", "%a", "/root/.ssh/xenserver_plugin_rsa"]).stdout.strip() == "600"
    keys = dom0.read_file("/root/.ssh/authorized_keys").splitlines()
    assert len(keys) == 1 and keys[0].endswith("fuel-plugin-xenserver@" + node.name), keys
    assert "169.254.0.1" in compute.read_file("/root/.ssh/xenserver_plugin_known_hosts")

    after_first = state(compute)
    code, out, second = run_task(compute)
    assert code == 0 and "made 0 changes" in out and "changed:" not in out, out
    code, out, _ = run_task(compute, "--dry-run")
    assert code == 0 and "would make 0 changes" in out, out
    assert state(compute) == after_first
    assert dom0.read_file("/root/.ssh/authorized_keys").splitlines() == keys
    # no DHCP probe or SSH master left running in the compute VM's namespace
    script = ('me=$(readlink /proc/self/ns/net); for p in $(pgrep -f "[x]enserver-himn-probe|[x]enserver-plugin-ssh"); '
              'do [ "$(readlink /proc/$p/ns/net)" = "$me" ] && echo "$p"; done; true')
    assert compute.run(["/bin/sh", "-c", script]).stdout.strip() == ""
    print(f"\ncompute_pre_test on {node.name}: first run {first:.1f}s, second (no change) run {second:.1f}s")

    # Even without Fuel's default route in place, a new HIMN lease installs no default route via Dom0.
    fuel_default = compute.run(["ip", "-o", "-4", "route", "show", "default"]).stdout.split()
    compute.run(["ip", "route", "del", "default"])
    try:
        compute.run(["ifdown", "eth3"], timeout=60)
        compute.run(["ifup", "eth3"], timeout=120)
        routes = compute.run(["ip", "-o", "-4", "route", "show"]).stdout
    finally:
        compute.run(["ip", "route", "replace", *fuel_default])
    assert "169.254.0.0/16 dev eth3" in routes and "default" not in routes, routes

    # the password reached no file, log or argument the node keeps (only Fuel's own astute.yaml holds it)
    found = files_holding(compute, PASSWORD, "/etc", "/root", "/var/log/fuel-plugin-xenserver", "/tmp")
    assert found == ["/etc/astute.yaml"], found
    found = files_holding(dom0, PASSWORD, "/root", "/tmp", "/var/log")
    assert found == [], found


def test_wrong_password(lab: tuple[Any, Any]) -> None:
    labhost, fuel = lab
    compute = labhost.host("node-12")
    original = compute.read_file("/etc/astute.yaml")
    compute.write_file("/etc/astute.yaml", original.replace(PASSWORD, "not-the-password"), mode=0o600)
    try:
        message = one_paragraph_failure(*run_task(compute)[:2])
    finally:
        compute.write_file("/etc/astute.yaml", original, mode=0o600)
    assert "SESSION_AUTHENTICATION_FAILED" in message and "Settings tab" in message
    assert "not-the-password" not in compute.read_file(LOG)


def test_dom0_ssh_unreachable(lab: tuple[Any, Any]) -> None:
    labhost, fuel = lab
    node = fuel.node("node-12")
    compute, dom0 = labhost.host(node.name), labhost.host(node.dom0)
    rule = ["INPUT", "-i", "xenapi", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "tcp-reset"]
    dom0.run(["iptables", "-I", *rule])
    try:
        message = one_paragraph_failure(*run_task(compute)[:2])
    finally:
        dom0.run(["iptables", "-D", *rule])
    assert "Cannot reach Dom0 at 169.254.0.1 over SSH" in message and "HIMN" in message


def test_himn_found_by_dhcp_probe_then_missing_hotfix(lab: tuple[Any, Any]) -> None:
    """Without xenstore's HIMN MAC the task probes, by DHCP, only the NIC without Fuel network (eth3)."""
    labhost, _ = lab
    compute = labhost.host("node-13")
    compute.run(["xenstore-rm", "vm-data/himn_mac"])
    message = one_paragraph_failure(*run_task(compute)[:2])
    assert "XenServer 6.5 on host" in message and "lacks the required hotfix XS65ESP1013" in message
    probes = re.findall(r"run: dhclient -1 .* (\S+)$", compute.read_file(LOG), re.MULTILINE)
    assert probes == ["eth3"], probes
    assert "iface eth3 inet dhcp" in compute.read_file("/etc/network/interfaces.d/ifcfg-eth3")


def test_dhcp_answer_outside_link_local_then_lvm_sr(lab: tuple[Any, Any]) -> None:
    labhost, fuel = lab
    node = fuel.node("node-14")
    compute, dom0 = labhost.host(node.name), labhost.host(node.dom0)
    conf = dom0.read_file("/etc/udhcpd.conf")
    wrong = re.sub(r"(?m)^start .*$", "start 10.99.0.10", re.sub(r"(?m)^end .*$", "end 10.99.0.20", conf))
    wrong = re.sub(r"(?m)^option subnet .*$", "option subnet 255.255.255.0", wrong)
    restart_udhcpd(dom0, "/etc/udhcpd-wrong.conf", wrong)
    before = state(compute)
    try:
        message = one_paragraph_failure(*run_task(compute)[:2])
    finally:
        restart_udhcpd(dom0, "/etc/udhcpd.conf", conf)
    assert "eth3" in message and "10.99.0." in message and "outside" in message and "HIMN tool" in message
    assert state(compute) == before, "the failed run left something behind"

    message = one_paragraph_failure(*run_task(compute)[:2])
    assert "not a file-based one" in message and "thin provisioning" in message.lower()


def restart_udhcpd(dom0: Any, path: str, conf: str) -> None:
    dom0.write_file(path, conf)
    pid = dom0.read_file("/run/udhcpd.pid").strip()
    dom0.run(["kill", pid])
    deadline = time.monotonic() + 10
    while dom0.listening(67, "udp"):
        assert time.monotonic() < deadline, "udhcpd did not stop"
        time.sleep(0.05)
    dom0.run(["rm", "-f", "/var/lib/misc/udhcpd.leases"], check=False)
    dom0.run(["touch", "/var/lib/misc/udhcpd.leases"])
    dom0.spawn(["udhcpd", "-f", path], dom0.log_dir / "udhcpd-test.log")
    while not dom0.listening(67, "udp"):
        assert time.monotonic() < deadline + 10, "udhcpd did not start"
        time.sleep(0.05)
