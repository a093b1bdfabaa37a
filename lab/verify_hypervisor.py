"""Issue 8: OpenStack's own code against the lab's XenServer, run in every compute VM after deployment.

  hypervisor <node>        Nova Train's XenAPI driver (lab/openstack_checks/nova_driver.py under .work/venv-nova27)
                           with the node's /etc/nova/nova.conf and the plugin's nova-compute.conf, unchanged:
                           XenServer, Dom0's host name, vCPUs and memory of the host, disk of its default SR;
                           and no XenAPI call the lab could not answer.
  rootwrap dom0 <node>     Neutron Train's neutron-rootwrap-xen-dom0 with the plugin's /etc/neutron/rootwrap.conf:
                           `ip link show` comes back with Dom0's links (through the netwrap Dom0 plugin); a
                           command outside Neutron's filters is refused on the node (no XenAPI call), one
                           inside them but outside netwrap's allowed list is refused by Dom0.
The venv is built by `make` (requirements/nova-train.txt); without it both rows fail saying so.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lab.dom0 import HOST_JSON, STATE_JSON
from lab.fuellab import FuelLab, NodeInfo
from lab.paths import NOVA_VENV, REPO
from lab.verify import Check
from lab.xenserver.calllog import CALL_LOG_NAME, Call, parse_calls, unanswered_among
from lab.xenserver.config import GIB, HIMN_BRIDGE, MIB, HostConfig

NOVA_PYTHON = NOVA_VENV / "bin" / "python"
CHECKS_DIR = REPO / "lab" / "openstack_checks"
HARNESS = CHECKS_DIR / "nova_driver.py"
# test only: the lab's compute VMs are namespaces, not Xen guests (see the file)
TEST_ONLY_CONF = CHECKS_DIR / "test-only-no-guest-kernel.conf"
NOVA_CONFS = ["/etc/nova/nova.conf", "/etc/nova/nova-compute.conf"]
ROOTWRAP = NOVA_VENV / "bin" / "neutron-rootwrap-xen-dom0"
ROOTWRAP_CONF = "/etc/neutron/rootwrap.conf"
CALL_LOG = str(Path(STATE_JSON).parent / CALL_LOG_NAME)
HYPERVISOR_TYPE = "XenServer"
DOM0_LINK = HIMN_BRIDGE  # a link only Dom0 has
LOCALLY_REFUSED = ["cat", "/etc/shadow"]  # in no Neutron filter
DOM0_REFUSED = ["iptables", "-S"]  # in Neutron's filters, not in netwrap's ALLOWED_CMDS
RC_XENAPI_ERROR = 96  # neutron-rootwrap-xen-dom0's exit code when Dom0 (XenAPI) said no
# Neutron Train's script means to exit 99 "Unauthorized command", but oslo.rootwrap (5.16 under the Train pins)
# raises NoFilterMatched from match_filter instead of returning None: the command is refused with that traceback.
LOCAL_REFUSALS = ("Unauthorized command", "NoFilterMatched")
TIMEOUT = 180


def checks(lab: Any, fuel: FuelLab) -> list[Check]:
    computes = [node for node in fuel.computes() if node.dom0]
    jobs = [lambda node=node: hypervisor(lab, node) for node in computes]
    jobs += [lambda node=node: rootwrap(lab, node) for node in computes]
    with ThreadPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
        return list(pool.map(lambda job: job(), jobs))


def venv_missing() -> str | None:
    if (NOVA_VENV / ".ready").exists() and NOVA_PYTHON.exists():
        return None
    return f"no Nova Train venv at {NOVA_VENV}: build it with `make venvs` (requirements/nova-train.txt)"


def dom0_config(lab: Any, node: NodeInfo) -> HostConfig:
    """What the node's XenServer host declares (Dom0's lab config)."""
    return HostConfig.from_json(lab.host(node.dom0).run(["cat", HOST_JSON]).stdout)


def dom0_calls(lab: Any, node: NodeInfo, since: float) -> tuple[list[Call], list[Call]]:
    """(all, unanswered) XenAPI calls Dom0's server logged since `since`."""
    calls = parse_calls(lab.host(node.dom0).run(["cat", CALL_LOG], check=False).stdout, since)
    return calls, unanswered_among(calls)


def run_nova_driver(lab: Any, node: NodeInfo) -> dict[str, Any]:
    """The harness's JSON report from inside the compute VM (configs: the node's, then the test-only file)."""
    confs = NOVA_CONFS + [str(TEST_ONLY_CONF)]
    argv = [str(NOVA_PYTHON), str(HARNESS)] + [arg for conf in confs for arg in ("--config-file", conf)]
    done = lab.host(node.name).run(argv, check=False, timeout=TIMEOUT)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "stage": "harness", "error": f"exit {done.returncode}: {done.stderr.strip()[-400:]}"}


def expected_resources(config: HostConfig) -> dict[str, Any]:
    return {"hypervisor_type": HYPERVISOR_TYPE, "hypervisor_hostname": config.hostname,
            "vcpus": config.cpu_count, "memory_mb": config.memory // MIB,
            "local_gb": config.default_sr.physical_size // GIB}


def hypervisor(lab: Any, node: NodeInfo) -> Check:
    name = f"hypervisor {node.name}"
    missing = venv_missing()
    if missing:
        return Check(name, node.name, False, missing)
    start = time.time()
    report = run_nova_driver(lab, node)
    calls, not_answered = dom0_calls(lab, node, start)
    if not report.get("ok"):
        return Check(name, node.name, False, f"Nova {report.get('stage')}: {report.get('error')}")
    want = expected_resources(dom0_config(lab, node))
    got = {key: report.get(key) for key in want}
    wrong = [f"{key} {got[key]!r} (host declares {value!r})" for key, value in want.items() if got[key] != value]
    if not_answered:
        wrong.append("XenAPI calls the lab could not answer: "
                     + ", ".join(sorted({f"{c.method} ({c.error})" for c in not_answered})))
    instances = ", ".join(report.get("instances") or []) or "none"
    measured = (f"Nova {report['hypervisor_type']}, host {report['hypervisor_hostname']}, {report['vcpus']} vCPUs, "
                f"{report['memory_mb']} MB, {report['local_gb']} GB disk; VMs listed: {instances}; "
                f"{len(calls)} XenAPI calls, {len(not_answered)} unanswered")
    return Check(name, node.name, not wrong, measured if not wrong else "; ".join(wrong))


def run_rootwrap(lab: Any, node: NodeInfo, argv: list[str]) -> Any:
    return lab.host(node.name).run([str(NOVA_PYTHON), str(ROOTWRAP), ROOTWRAP_CONF, *argv], check=False,
                                   timeout=60)


def dom0_links(output: str) -> list[str]:
    """Link names in `ip link show` output ("3: xenapi: <...>" lines; "eth0@if12" as eth0)."""
    names = []
    for line in output.splitlines():
        parts = line.split(": ")
        if len(parts) >= 3 and parts[0].strip().isdigit():
            names.append(parts[1].split("@")[0])
    return names


def rootwrap(lab: Any, node: NodeInfo) -> Check:
    name = f"rootwrap dom0 {node.name}"
    missing = venv_missing()
    if missing:
        return Check(name, node.name, False, missing)
    shown = run_rootwrap(lab, node, ["ip", "link", "show"])
    links = dom0_links(shown.stdout)
    start = time.time()
    local = run_rootwrap(lab, node, LOCALLY_REFUSED)
    reached_dom0 = dom0_calls(lab, node, start)[0]
    dom0 = run_rootwrap(lab, node, DOM0_REFUSED)
    problems = []
    if shown.returncode != 0 or DOM0_LINK not in links:
        problems.append(f"`ip link show` exit {shown.returncode}, links {links}: {last_line(shown.stderr)}")
    local_reason = next((reason for reason in LOCAL_REFUSALS if reason in local.stderr), None)
    if local.returncode == 0 or local_reason is None or reached_dom0:
        problems.append(f"`{' '.join(LOCALLY_REFUSED)}` not refused on the node (exit {local.returncode}, "
                        f"{len(reached_dom0)} XenAPI calls): {last_line(local.stderr)}")
    if dom0.returncode != RC_XENAPI_ERROR or "not permitted" not in dom0.stderr:
        problems.append(f"`{' '.join(DOM0_REFUSED)}` not refused by netwrap (exit {dom0.returncode}): "
                        f"{last_line(dom0.stderr)}")
    measured = (f"ip link show -> Dom0 links {', '.join(links)}; `{' '.join(LOCALLY_REFUSED)}` refused by "
                f"Neutron's filters ({local_reason}, exit {local.returncode}, no XenAPI call); "
                f"`{' '.join(DOM0_REFUSED)}` refused by Dom0's netwrap (exit {dom0.returncode})")
    return Check(name, node.name, not problems, measured if not problems else "; ".join(problems))


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""
