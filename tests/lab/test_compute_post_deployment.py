"""The compute post-deployment task in the lab: a second run changes nothing, a dry run changes nothing.

One lab (the real xs-ha Fuel 9 environment, its three computes on XenServer 6.5, 7.0 and 7.1) is brought
up and deployed once for the module; the tests then re-run the task on the compute VMs and compare what an
operator would look at: iptables-save, routes, hashes of every file the task manages (compute VM and Dom0)
and the services log.
"""
from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import fuellab, runtime
from lab.delivery import find_rpm
from lab.environment import PLUGIN_SCRIPTS_PATH, HostChoice
from lab.errors import LabError
from lab.secrets import files_holding

# a prefix of this test run only: concurrent runs on a shared machine never meet
PREFIX = f"rp{secrets.token_hex(2)}"
# The real Fuel 9 XenServer environment (3 computes): one host per XenServer version; without the shared
# fixtures, the lab's generated 2-compute environment (6.5 and 7.0 hosts).
FIXTURES = Path(os.environ.get("XENSERVER_PLUGIN_FIXTURES",
                               Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fuel9"))
XS_HA = FIXTURES / "nailgun" / "xs-ha"
VERSIONS = ["6.5.0", "7.0.0", "7.1.0"]
PASSWORD = "Lab-Xen-pw-h4b"
TASK = "python compute_post_deployment.py"
COMPUTE_FILES = [
    "/etc/nova/nova-compute.conf", "/etc/neutron/rootwrap.conf", "/etc/neutron/plugins/ml2/openvswitch_agent.ini",
    "/etc/iptables/rules.v4", "/etc/sysctl.conf", "/etc/multipath.conf",
    "/usr/local/bin/xenserver-image-cache-cleanup", "/etc/cron.d/xenserver-image-cache-cleanup",
]
DOM0_FILES = [
    "/etc/udev/scripts/fuel-xenserver-routes.sh", "/etc/udev/rules.d/90-fuel-xenserver-routes.rules",
    "/usr/local/sbin/fuel-xenserver-rotate-guest-logs", "/etc/cron.d/fuel-xenserver-rotate-guest-logs",
    "/etc/conntrackd/conntrackd.conf", "/etc/logrotate.d/conntrackd",
]
SERVICES_LOG = "/var/log/lab/services.log"
QUERIES = ("status", "is-active", "is-enabled")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab tests need root (namespaces, veths, mounts)")


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[Any, Any, Any]]:
    try:
        find_rpm()
    except LabError as error:
        pytest.skip(f"no usable plugin RPM: {error}")
    fixtures = XS_HA if XS_HA.is_dir() else None
    lab, fuel = fuellab.up(PREFIX, fixtures, hosts=[HostChoice(version) for version in VERSIONS], password=PASSWORD)
    try:
        report = fuellab.deploy_plugin(lab, fuel)
        yield lab, fuel, report
    finally:
        runtime.down(PREFIX)
        shutil.rmtree(runtime.state_dir_for(PREFIX), ignore_errors=True)


def run_task(host: Any, *args: str) -> Any:
    script = f"cd {shlex.quote(PLUGIN_SCRIPTS_PATH)} && {TASK} {' '.join(args)}"
    return host.run(["/bin/sh", "-c", script], timeout=300, check=False)


def hashes(host: Any, paths: list[str]) -> str:
    script = 'for f in "$@"; do [ -e "$f" ] && stat -c "%a %U:%G %n" "$f" && sha256sum "$f"; done; true'
    return host.run(["/bin/sh", "-c", script, "sh", *paths]).stdout


def iptables(host: Any) -> str:
    out = host.run(["iptables-save"]).stdout
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines() if not line.startswith("#"))


def service_actions(host: Any) -> list[str]:
    """Lines of the lab's services log that act (restart, enable, ...), without queries like is-enabled."""
    text = host.run(["/bin/sh", "-c", f"cat {SERVICES_LOG} 2>/dev/null; true"]).stdout
    return [line for line in text.splitlines()
            if len(line.split("\t")) > 2 and line.split("\t")[2] not in QUERIES]


def snapshot(lab: Any, node: Any) -> dict[str, Any]:
    compute, dom0 = lab.host(node.name), lab.host(node.dom0)
    return {
        "compute iptables": iptables(compute),
        "compute routes": compute.run(["ip", "-o", "-4", "route", "show"]).stdout,
        "compute files": hashes(compute, COMPUTE_FILES),
        "compute services": service_actions(compute),
        "dom0 routes": dom0.run(["ip", "-o", "-4", "route", "show"]).stdout,
        "dom0 files": hashes(dom0, DOM0_FILES),
        "dom0 services": service_actions(dom0),
    }


def computes(fuel: Any) -> list[Any]:
    return fuel.computes()


def test_deployment_ran_the_task_on_every_compute(deployed):
    _, fuel, report = deployed
    ran = {(r.node, r.task): r for r in report.results}
    for node in computes(fuel):
        result = ran[(node.name, "xenserver-compute-post-deployment")]
        assert result.status == "ok", result.describe()


def test_second_run_changes_nothing(deployed):
    lab, fuel, _ = deployed
    for node in computes(fuel):
        before = snapshot(lab, node)
        done = run_task(lab.host(node.name))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "made 0 changes" in done.stdout, done.stdout
        assert snapshot(lab, node) == before


def test_dry_run_lists_and_changes_nothing_then_the_run_repairs(deployed):
    lab, fuel, _ = deployed
    node = computes(fuel)[0]
    compute, dom0 = lab.host(node.name), lab.host(node.dom0)
    storage_net = next(line.split()[0] for line in dom0.run(["ip", "-o", "-4", "route", "show"]).stdout.splitlines()
                       if " via 169.254." in line)
    compute.run(["iptables", "-t", "nat", "-D", "POSTROUTING", "-o", "br-storage", "-j", "MASQUERADE"])
    dom0.run(["ip", "route", "del", storage_net])
    compute.run(["sed", "-i", "s/^cache_images = all/cache_images = none/", "/etc/nova/nova-compute.conf"])
    broken = snapshot(lab, node)

    dry = run_task(compute, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would change: iptables nat: -A POSTROUTING -o br-storage -j MASQUERADE" in dry.stdout
    assert f"would change: Dom0 routes {storage_net}" in dry.stdout
    assert "[xenserver] cache_images = all" in dry.stdout
    assert "would change: nova-compute restarted" in dry.stdout
    assert snapshot(lab, node) == broken

    fixed = run_task(compute)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "made 0 changes" not in fixed.stdout
    again = run_task(compute)
    assert "made 0 changes" in again.stdout, again.stdout


def test_password_is_in_no_log_and_no_world_readable_file(deployed):
    lab, fuel, _ = deployed
    for node in computes(fuel):
        compute = lab.host(node.name)
        logs = compute.run(["/bin/sh", "-c", "cat /var/log/fuel-plugin-xenserver/*.log"]).stdout
        assert logs and PASSWORD not in logs
        found = files_holding(compute, PASSWORD, "/etc/nova", "/etc/neutron", "/etc/ceilometer")
        assert "/etc/nova/nova-compute.conf" in found
        for path in found:
            mode = int(compute.run(["stat", "-c", "%a", path]).stdout, 8)
            assert mode & 0o007 == 0, f"{path} is world-readable ({mode:o})"


def test_no_vif_for_the_private_nic_fails_clearly_and_changes_nothing(deployed):
    lab, fuel, _ = deployed
    node = computes(fuel)[-1]
    compute = lab.host(node.name)
    link = compute.run(["ip", "-o", "link", "show", "dev", "eth2"]).stdout.split()
    mac = link[link.index("link/ether") + 1]
    stranger = "02:00:00:00:4b:01"
    compute.run(["ip", "link", "set", "dev", "eth2", "address", stranger])
    try:
        compute.run(["sed", "-i", "s/^cache_images = all/cache_images = none/", "/etc/nova/nova-compute.conf"])
        before = snapshot(lab, node)
        done = run_task(compute)
        assert done.returncode == 1
        assert f"No VIF with the MAC {stranger}" in done.stdout, done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert snapshot(lab, node) == before
    finally:
        compute.run(["ip", "link", "set", "dev", "eth2", "address", mac])
    repaired = run_task(compute).stdout
    assert "changed: /etc/nova/nova-compute.conf: [xenserver] cache_images = all" in repaired, repaired
    assert "made 0 changes" in run_task(compute).stdout


def test_image_cache_tool_talks_to_xenapi_in_dry_run(deployed):
    lab, fuel, _ = deployed
    for node in computes(fuel):
        done = lab.host(node.name).run(["python", "/usr/local/bin/xenserver-image-cache-cleanup", "--dry-run"],
                                       check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"^\d+ unused cached images? \(dry run\)$", done.stdout, re.MULTILINE), done.stdout


def test_linux_bridges_allowed_in_dom0_on_xenserver_65_only(deployed):
    lab, fuel, _ = deployed
    blacklist = "/etc/modprobe.d/blacklist-bridge.conf"
    seen = set()
    for node in computes(fuel):
        dom0 = lab.host(node.dom0)
        inventory = dom0.run(["cat", "/etc/xensource-inventory"]).stdout
        version = re.search(r"^PRODUCT_VERSION='([^']+)'", inventory, re.MULTILINE).group(1)
        dom0.run(["/bin/sh", "-c", f"mkdir -p /etc/modprobe.d && echo 'install bridge /bin/true' > {blacklist}"])
        done = run_task(lab.host(node.name))
        assert done.returncode == 0, done.stdout + done.stderr
        removed = f"changed: Dom0 allows Linux bridges ({blacklist} removed)" in done.stdout
        assert removed is version.startswith("6.5"), (version, done.stdout)
        assert dom0.exists(blacklist) is not version.startswith("6.5")
        dom0.run(["rm", "-f", blacklist])
        seen.add(version)
    if XS_HA.is_dir():
        assert seen == set(VERSIONS)
