"""The Fuel side of a running lab: bring it up from an environment, deploy the plugin, find it again.

`up` = the lab runtime's hosts and links (lab.runtime) + what Fuel would have done before the plugin's
tasks: each node's networks from network_scheme, /etc/astute.yaml, the plugin's deployment_scripts/,
and the probe servers `verify` talks to. What later commands need is kept in `<state>/fuel.json`
(no secret in it; the password lives only in the nodes' /etc/astute.yaml, mode 0600).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab import delivery, runtime
from lab.deploy import Report, deploy
from lab.environment import (
    PLUGIN_SCRIPTS_PATH,
    VLANS_AS_SEGMENTS,
    Environment,
    FuelNode,
    HostChoice,
    build_environment,
    is_controller,
    lab_spec,
    load_fixtures,
)
from lab.errors import LabError
from lab.paths import REPO, WORK, tooling_python
from lab.taskgraph import Graph, GraphError, build_graph, plugin_tasks

PROBE_PORT = 8080
PROBE_TIMEOUT = 10.0
FUEL_STATE = "fuel.json"
PLUGIN_CACHE = WORK / "lab-plugin"


@dataclass
class NodeInfo:
    name: str
    uid: str
    roles: list[str]
    ips: dict[str, str]  # bridge -> address
    himn_nic: str | None = None
    dom0: str | None = None
    # compute nodes: the private physnet (whose bridge is br-prv) and the Dom0 bridge of the VIF of the
    # private NIC: what Neutron's bridge_mappings must say
    physnet: str | None = None
    private_dom0_bridge: str | None = None

    @property
    def is_compute(self) -> bool:
        return "compute" in self.roles

    @property
    def is_controller(self) -> bool:
        return is_controller(self.roles)


@dataclass
class Probe:
    network: str  # storage | management
    host: str
    address: str
    port: int = PROBE_PORT


@dataclass
class FuelLab:
    """What the Fuel side knows about a running lab (saved as fuel.json in the lab's state dir)."""

    prefix: str
    source: str
    rpm: str
    nodes: list[NodeInfo]
    xenhosts: list[dict[str, Any]]
    probes: list[Probe] = field(default_factory=list)

    def node(self, name: str) -> NodeInfo:
        for node in self.nodes:
            if node.name == name:
                return node
        raise LabError(f"lab {self.prefix!r} has no node {name!r}")

    def computes(self) -> list[NodeInfo]:
        return [node for node in self.nodes if node.is_compute]

    def controllers(self) -> list[NodeInfo]:
        return [node for node in self.nodes if node.is_controller]

    def save(self, state_dir: Path) -> None:
        path = state_dir / FUEL_STATE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, prefix: str, state_dir: Path) -> FuelLab:
        path = state_dir / FUEL_STATE
        if not path.is_file():
            raise LabError(f"lab {prefix!r} was not brought up by `python -m lab up` (no {path})")
        data = json.loads(path.read_text())
        return cls(prefix=data["prefix"], source=data["source"], rpm=data["rpm"],
                   nodes=[NodeInfo(**n) for n in data["nodes"]], xenhosts=data["xenhosts"],
                   probes=[Probe(**p) for p in data.get("probes", [])])


def make_environment(fixtures: Path | None, hosts: list[HostChoice], plugin: delivery.Plugin,
                     password: str | None = None) -> Environment:
    return build_environment(load_fixtures(fixtures), password or secrets.token_urlsafe(12), hosts,
                             plugin.serialization(), source=str(fixtures) if fixtures else "default environment")


def prepare_plugin(rpm: Path | None = None) -> delivery.Plugin:
    if rpm is not None and not rpm.is_file():
        raise LabError(f"plugin RPM {rpm} does not exist: run `make` to build it")
    rpm = rpm or delivery.find_rpm()
    plugin = delivery.unpack(rpm, PLUGIN_CACHE / rpm.stem)
    _prune_cache(keep=3)
    return plugin


def plugin_graph(plugin: delivery.Plugin) -> Graph:
    try:
        return build_graph(plugin_tasks(plugin.deployment_tasks))
    except GraphError as error:
        raise LabError(f"{plugin.rpm.name}: deployment_tasks.yaml: {error}") from None


def _prune_cache(keep: int) -> None:
    """Unpacked RPMs pile up (one per build): keep the few most recent."""
    unpacked = sorted((p for p in PLUGIN_CACHE.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in unpacked[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def up(prefix: str, fixtures: Path | None = None, hosts: list[HostChoice] | None = None,
       python: str = "2.7", rpm: Path | None = None, password: str | None = None,
       state_dir: Path | None = None) -> tuple[runtime.Lab, FuelLab]:
    """Everything up, or nothing: a failure takes down what was made and raises LabError."""
    runtime.require_root()
    if runtime.is_up(prefix):
        raise LabError(f"a lab with prefix {prefix!r} is already up: take it down first "
                       f"(python -m lab down --prefix {prefix}) or use another --prefix")
    plugin = prepare_plugin(rpm)
    plugin_graph(plugin)  # a plugin whose tasks cannot be ordered is refused before anything is made
    env = make_environment(fixtures, hosts or [HostChoice()], plugin, password)
    lab = runtime.up(lab_spec(env, prefix, python), state_dir)
    try:
        fuel = _configure(lab, env, plugin)
        fuel.save(lab.state_dir)
        for setup in extra_setups():
            setup(lab, env, fuel)
    except BaseException:
        runtime.down(prefix, lab.state_dir)
        raise
    return lab, fuel


def extra_setups() -> list[Any]:
    """What other parts of the lab add to a node before deployment (e.g. services a deployed controller
    runs): every module lab/setup_<name>.py with `setup(lab, env, fuel)`, run in name order at the end of up."""
    return lab_hooks("setup_", "setup")


def lab_hooks(prefix: str, attribute: str) -> list[Any]:
    """`attribute` of every module lab/<prefix><name>.py, in module name order."""
    import lab as lab_package

    found = []
    for module in sorted(pkgutil.iter_modules(lab_package.__path__), key=lambda m: m.name):
        if module.name.startswith(prefix):
            found.append(getattr(importlib.import_module(f"lab.{module.name}"), attribute))
    return found


def _configure(lab: runtime.Lab, env: Environment, plugin: delivery.Plugin) -> FuelLab:
    tar = plugin.scripts_tar()

    def prepare(node: FuelNode) -> None:
        host = lab.host(node.name)
        for argv in node.network.commands(vlans_provided=VLANS_AS_SEGMENTS):
            host.run(argv)
        for cidr, bridge in node.vips():
            host.run(["ip", "addr", "add", cidr, "dev", bridge])
        for path, text in node.network.interfaces_files().items():
            host.write_file(path, text)
        host.write_file("/etc/astute.yaml", node.astute_yaml(), mode=0o600)
        host.run(["mkdir", "-p", "/etc/fuel/plugins"])
        delivery.copy_scripts(plugin, host, tar)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(prepare, env.nodes))
    probes = _start_probes(lab, env)
    nodes = [NodeInfo(name=n.name, uid=n.uid, roles=n.roles, himn_nic=n.himn_nic, dom0=n.dom0,
                      ips={dev: str(cidrs[0].ip) for dev, cidrs in n.network.addresses.items() if cidrs},
                      physnet=_private_physnet(n), private_dom0_bridge=_private_dom0_bridge(env, n))
             for n in env.nodes]
    xenhosts = [{"name": h.name, "compute_node": h.compute_node, "version": h.version, "hotfixes": h.hotfixes,
                 "sr_type": h.sr_type} for h in env.xenhosts]
    return FuelLab(prefix=lab.prefix, source=env.source, rpm=str(plugin.rpm), nodes=nodes, xenhosts=xenhosts,
                   probes=probes)


def _private_physnet(node: FuelNode) -> str | None:
    phys = ((node.astute.get("quantum_settings") or {}).get("L2") or {}).get("phys_nets") or {}
    return next((name for name, net in sorted(phys.items()) if (net or {}).get("bridge") == "br-prv"), None)


def _private_dom0_bridge(env: Environment, node: FuelNode) -> str | None:
    if not node.dom0:
        return None
    nics = node.network.nics_behind("br-prv")
    macs = {nic.name: nic.mac for nic in node.nics}
    vifs = {mac: bridge for _, mac, bridge in env.xenhost(node.dom0).vifs}
    return vifs.get(macs.get(nics[0], "")) if nics else None


def _start_probes(lab: runtime.Lab, env: Environment) -> list[Probe]:
    """An HTTP probe server on the storage network (a Cinder node, else a controller) and on management."""
    others = [n for n in env.nodes if not n.is_compute]
    storage_hosts = [n for n in others if "cinder" in n.roles] + others
    mgmt_hosts = [n for n in others if n.is_controller] + others
    started = []
    for network, bridge, candidates in (("storage", "br-storage", storage_hosts),
                                        ("management", "br-mgmt", mgmt_hosts)):
        node = next((n for n in candidates if n.ip(bridge)), None)
        if node is None:
            continue
        probe = Probe(network=network, host=node.name, address=str(node.ip(bridge)))
        host = lab.host(node.name)
        # as a module: running lab/probe_server.py as a script would put lab/ (and its secrets.py) on sys.path
        log = host.log_dir / f"probe-{network}.log"
        pid = host.spawn([str(tooling_python()), "-m", "lab.probe_server", probe.address, str(probe.port), network],
                         log, env={"PYTHONPATH": str(REPO)})
        started.append((probe, pid, log))
    for probe, pid, log in started:
        lab.host(probe.host).wait_listening(probe.port, "the probe server", PROBE_TIMEOUT, processes={pid: log})
    return [probe for probe, _, _ in started]


def attach(prefix: str, state_dir: Path | None = None) -> tuple[runtime.Lab, FuelLab]:
    lab = runtime.attach(prefix, state_dir)
    return lab, FuelLab.load(prefix, lab.state_dir)


def deploy_plugin(lab: runtime.Lab, fuel: FuelLab, progress: Any = None, rpm: Path | None = None) -> Report:
    """A Fuel deployment: the plugin's scripts synced to every node (as plugins_rsync does at each deployment,
    so `make && python -m lab deploy` delivers a rebuilt RPM), then the task graph.

    rpm: the build to deploy; by default the one the lab already has (else the newest in output/).
    """
    if rpm is None:
        rpm = Path(fuel.rpm) if Path(fuel.rpm).is_file() else delivery.newest_rpm()
    plugin = prepare_plugin(rpm)
    graph = plugin_graph(plugin)
    nodes = {node.name: node.roles for node in fuel.nodes}
    if str(plugin.rpm) != fuel.rpm:
        sync_scripts(lab, plugin, list(nodes))
        fuel.rpm = str(plugin.rpm)
        fuel.save(lab.state_dir)
    return deploy(graph, nodes, {name: lab.host(name) for name in nodes}, progress)


def sync_scripts(lab: runtime.Lab, plugin: delivery.Plugin, nodes: list[str]) -> None:
    """deployment_scripts/ replaced on every node (rsync --delete): files the new build dropped go too."""
    tar = plugin.scripts_tar()

    def sync(name: str) -> None:
        host = lab.host(name)
        host.run(["rm", "-rf", "--", PLUGIN_SCRIPTS_PATH])
        delivery.copy_scripts(plugin, host, tar)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(sync, nodes))
