"""What the lab can check after a deployment, each check measuring with real traffic or reading the node.

Network checks (curl through the lab's links; the probe servers answer with the client address they saw):
  himn        the compute VM reaches Dom0's XenAPI at 169.254.0.1:80 over the HIMN
  storage     Dom0 reaches the probe on the storage network, and the probe sees the compute VM's storage
              address (the request went through the compute VM's NAT)
  management  the same on the management network
  console     a controller reaches the compute VM's management address on port 80 and gets Dom0's answer
Configuration checks read the files the plugin's tasks write (keys and values from the astute data).
Modules lab/verify_<name>.py add their own checks (see extra_checks).
"""

from __future__ import annotations

import configparser
import json
import xmlrpc.client
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import yaml

from lab.fuellab import FuelLab, NodeInfo, Probe, lab_hooks
from lab.openstack.config import vip
from lab.spec import HIMN_ADDRESS

CURL_TIMEOUT = "3"


@dataclass
class Check:
    name: str
    host: str
    ok: bool
    measured: str


def run_all(lab: Any, fuel: FuelLab, network_only: bool = False) -> list[Check]:
    """Every check, run in parallel (a failing network check waits for its timeout), listed in a fixed order."""
    jobs: list[Callable[[], Check | list[Check]]] = []
    for node in fuel.computes():
        jobs.append(lambda node=node: himn(lab, node))
        for probe in fuel.probes:
            jobs.append(lambda node=node, probe=probe: dom0_reaches(lab, fuel, node, probe))
        jobs.append(lambda node=node: console(lab, fuel, node))
        if not network_only:
            jobs.append(lambda node=node: compute_config(lab, node))
    for node in fuel.nodes:
        if not network_only and any(role in ("controller", "primary-controller") for role in node.roles):
            jobs.append(lambda node=node: controller_config(lab, node))
    if not network_only:
        jobs += [lambda extra=extra: extra(lab, fuel) for extra in extra_checks()]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    checks: list[Check] = []
    for result in results:
        checks.extend(result if isinstance(result, list) else [result])
    return checks


def extra_checks() -> list[Callable[[Any, FuelLab], list[Check]]]:
    """Checks other parts of the lab add: every module lab/verify_<name>.py with `checks(lab, fuel)`
    returning a list of Check (e.g. the TestVM in Glance, Nova's XenAPI driver), run after the built-in ones."""
    return lab_hooks("verify_", "checks")


def table(checks: list[Check], before: list[Check] | None = None) -> str:
    """One line per check; with `before` (the same checks run before the deployment) a column for those."""
    width = max([len(c.name) for c in checks] + [5])
    earlier = {c.name: ("pass" if c.ok else "fail") for c in before or []}
    head = f"{'before':<7} " if before is not None else ""
    lines = [f"{'check':<{width}}  {'host':<8}  {head}{'result':<6}  measured"]
    for c in checks:
        col = f"{earlier.get(c.name, '-'):<7} " if before is not None else ""
        lines.append(f"{c.name:<{width}}  {c.host:<8}  {col}{'PASS' if c.ok else 'FAIL':<6}  {c.measured}")
    passed = sum(c.ok for c in checks)
    lines.append(f"{passed}/{len(checks)} checks passed")
    return "\n".join(lines)


def curl(host: Any, url: str) -> tuple[str, str, str]:
    """(HTTP code or 000, seconds, body) of a GET from inside a lab host."""
    done = host.run(["curl", "-s", "-m", CURL_TIMEOUT, "-o", "-", "-w", "\n%{http_code} %{time_total}", url],
                    check=False, timeout=30)
    body, _, tail = done.stdout.rpartition("\n")
    code, _, seconds = tail.partition(" ")
    return code or "000", seconds, body


def _ms(seconds: str) -> str:
    try:
        return f"{float(seconds) * 1000:.0f} ms"
    except ValueError:
        return f"{seconds}s"


def route_to(host: Any, address: str) -> str:
    done = host.run(["ip", "-j", "route", "get", address], check=False)
    if done.returncode != 0:
        return "no route"
    try:
        route = json.loads(done.stdout)[0]
    except (ValueError, IndexError):
        return "no route"
    return f"via {route['gateway']} dev {route['dev']}" if "gateway" in route else f"dev {route.get('dev')}"


def xenapi_probe(host: Any, url: str) -> tuple[bool, str]:
    """Call XenAPI without a session (session.get_this_host): XenServer answers SESSION_INVALID."""
    body = xmlrpc.client.dumps(("OpaqueRef:lab-probe", "OpaqueRef:lab-probe"), "session.get_this_host")
    done = host.run(["curl", "-s", "-m", CURL_TIMEOUT, "-H", "Content-Type: text/xml", "--data-binary", "@-",
                     "-w", "\n%{http_code} %{time_total}", url], input=body, check=False, timeout=30)
    answer, _, tail = done.stdout.rpartition("\n")
    code, _, seconds = tail.partition(" ")
    if not answer.strip():
        return False, f"no answer from {url} within {CURL_TIMEOUT}s (curl exit {done.returncode})"
    try:
        (result,), _ = xmlrpc.client.loads(answer)
    except (xmlrpc.client.ResponseError, ValueError) as error:
        return False, f"HTTP {code} from {url}, not XenAPI ({error})"
    description = result.get("ErrorDescription", []) if isinstance(result, dict) else []
    if description[:1] != ["SESSION_INVALID"]:
        return False, f"HTTP {code} from {url}: unexpected XenAPI answer {result!r}"
    return True, f"XenAPI at {url} answered session.get_this_host with SESSION_INVALID in {_ms(seconds)}"


def himn(lab: Any, node: NodeInfo) -> Check:
    host = lab.host(node.name)
    name = f"HIMN {node.name}->{HIMN_ADDRESS}"
    reached, answer = xenapi_probe(host, f"http://{HIMN_ADDRESS}/")
    addresses = host.run(["ip", "-j", "-4", "addr", "show", "dev", str(node.himn_nic)], check=False).stdout
    own = [f"{a['local']}/{a['prefixlen']}" for link in (json.loads(addresses or "[]"))
           for a in link.get("addr_info", [])]
    measured = f"{answer}; {node.himn_nic} has {', '.join(own) or 'no address'}"
    if reached:
        measured += f", route {route_to(host, HIMN_ADDRESS)}"
    return Check(name, node.name, reached, measured)


def dom0_reaches(lab: Any, fuel: FuelLab, node: NodeInfo, probe: Probe) -> Check:
    dom0 = lab.host(str(node.dom0))
    bridge = "br-storage" if probe.network == "storage" else "br-mgmt"
    expected_client = node.ips.get(bridge)
    name = f"Dom0 {node.dom0}->{probe.network} via {node.name}"
    code, seconds, body = curl(dom0, f"http://{probe.address}:{probe.port}/")
    route = route_to(dom0, probe.address)
    if code != "200":
        return Check(name, str(node.dom0), False,
                     f"no answer from {probe.address}:{probe.port} ({probe.host}) within {CURL_TIMEOUT}s; "
                     f"Dom0 route: {route}")
    client = json.loads(body).get("client")
    through = client == expected_client
    measured = (f"HTTP 200 in {_ms(seconds)} from {probe.host} {probe.address}:{probe.port}; it saw client {client}"
                f" ({'= ' + node.name + ' ' + bridge if through else 'NOT ' + node.name + ' ' + str(expected_client)})"
                f"; Dom0 route: {route}")
    return Check(name, str(node.dom0), through, measured)


def console(lab: Any, fuel: FuelLab, node: NodeInfo) -> Check:
    controllers = [n for n in fuel.controllers() if n.ips.get("br-mgmt")]
    target = node.ips.get("br-mgmt")
    name = f"console ->{node.name}:80->{node.dom0}"
    if not controllers or not target:
        return Check(name, node.name, False, "no controller or no management address in this lab")
    source = controllers[0]
    if lab.host(node.name).listening(80):
        return Check(name, source.name, False, f"{node.name} itself listens on port 80: the check cannot tell")
    reached, answer = xenapi_probe(lab.host(source.name), f"http://{target}:80/")
    measured = f"from {source.name} {source.ips['br-mgmt']}: {answer}"
    if reached:
        measured += f" (port 80 of {node.name} forwarded to {node.dom0})"
    return Check(name, source.name, reached, measured)


def read_ini(host: Any, path: str) -> configparser.RawConfigParser | None:
    done = host.run(["cat", path], check=False)
    if done.returncode != 0:
        return None
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(done.stdout)
    except configparser.Error:
        return None
    return parser


def astute(host: Any) -> dict[str, Any]:
    return yaml.safe_load(host.run(["cat", "/etc/astute.yaml"]).stdout)


Expected = dict[tuple[str, str], Callable[[str], bool] | str]


def ini_check(host: Any, node: str, label: str, path: str, expected: Expected, secret: str | None = None) -> Check:
    parser = read_ini(host, path)
    if parser is None:
        return Check(label, node, False, f"{path} missing or unreadable")
    wrong = []
    for (section, key), want in expected.items():
        sect = "DEFAULT" if section == "DEFAULT" else section
        found = parser.get(sect, key, fallback=None) if (sect == "DEFAULT" or parser.has_section(sect)) else None
        good = want(found or "") if callable(want) else found == want
        if not good:
            shown = "(hidden)" if secret and found == secret else found
            wrong.append(f"[{section}] {key} = {shown}")
    if wrong:
        return Check(label, node, False, f"{path}: " + "; ".join(wrong))
    return Check(label, node, True, f"{path}: {len(expected)} settings as expected")


def compute_config(lab: Any, node: NodeInfo) -> list[Check]:
    host = lab.host(node.name)
    data = astute(host)
    settings = data.get("fuel-plugin-xenserver") or {}
    user, password = str(settings.get("username", "")), str(settings.get("password", ""))

    def is_password(value: str) -> bool:
        return bool(password) and value == password

    ssl = data.get("public_ssl") or {}
    scheme = "https" if ssl.get("services") else "http"
    console_hosts = {vip(data, "public")} | ({str(ssl.get("hostname"))} if ssl.get("services") else set())
    console_urls = {f"{scheme}://{host}:6080/vnc_auto.html" for host in console_hosts}
    nova: Expected = {
        ("DEFAULT", "compute_driver"): "xenapi.XenAPIDriver",
        ("DEFAULT", "force_config_drive"): lambda v: v.lower() == "true",
        ("vnc", "novncproxy_base_url"): lambda v: v in console_urls,
        ("vnc", "vncserver_proxyclient_address"): node.ips.get("br-mgmt", ""),
        ("xenserver", "connection_url"): f"http://{HIMN_ADDRESS}",
        ("xenserver", "connection_username"): user,
        ("xenserver", "connection_password"): is_password,
        ("xenserver", "vif_driver"): "nova.virt.xenapi.vif.XenAPIOpenVswitchDriver",
        ("xenserver", "ovs_integration_bridge"): "br-int",
        ("xenserver", "cache_images"): "all",
    }
    agent: Expected = {
        ("agent", "root_helper"): "neutron-rootwrap-xen-dom0 /etc/neutron/rootwrap.conf",
        ("agent", "minimize_polling"): lambda v: v.lower() == "false",
        ("ovs", "integration_bridge"): "br-int",
        ("agent", "root_helper_daemon"): "",
        ("ovs", "bridge_mappings"): f"{node.physnet}:{node.private_dom0_bridge}",
    }
    rootwrap: Expected = {
        ("xenapi", "xenapi_connection_url"): f"http://{HIMN_ADDRESS}",
        ("xenapi", "xenapi_connection_username"): user,
        ("xenapi", "xenapi_connection_password"): is_password,
    }
    return [
        ini_check(host, node.name, f"nova-compute.conf {node.name}", "/etc/nova/nova-compute.conf", nova, password),
        ini_check(host, node.name, f"ovs agent {node.name}", "/etc/neutron/plugins/ml2/openvswitch_agent.ini", agent),
        ini_check(host, node.name, f"rootwrap.conf {node.name}", "/etc/neutron/rootwrap.conf", rootwrap, password),
    ]


def controller_config(lab: Any, node: NodeInfo) -> Check:
    host = lab.host(node.name)
    cache: Expected = {("cache", "enabled"): lambda v: v.lower() == "true",
                       ("cache", "memcache_servers"): lambda v: bool(v.strip())}
    return ini_check(host, node.name, f"nova.conf [cache] {node.name}", "/etc/nova/nova.conf", cache)
