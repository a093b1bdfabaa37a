"""A Fuel environment for the lab: the nodes' astute.yaml data and the XenServer hosts their compute VMs run on.

Input is a directory of per-node astute.yaml files (as a Fuel 9.x master writes them, e.g. the xs-ha
fixtures) or, with none, the generated default environment (lab/defaultenv.py). Each compute node gets a
XenServer host (Dom0) whose compute VM has one VIF per NIC of the node: the NIC's MAC on a Dom0 bridge
xenbr<N>, except the HIMN NIC (the NIC with no Fuel network) which sits on the HIMN bridge `xenapi`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab import defaultenv
from lab.errors import LabError
from lab.netconfig import NetconfigError, NodeNetwork, build
from lab.spec import himn_segment
from lab.xenserver.config import HIMN_BRIDGE

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PLUGIN_NAME = "fuel-plugin-xenserver"
PLUGIN_DIR_NAME = "fuel-plugin-xenserver-4.0"
PLUGIN_SCRIPTS_PATH = f"/etc/fuel/plugins/{PLUGIN_DIR_NAME}/"
XENSERVER_VERSIONS = {"6.5": "6.5.0", "7.0": "7.0.0", "7.1": "7.1.0"}
REQUIRED_HOTFIXES = {"6.5.0": ["XS65ESP1013"], "7.0.0": [], "7.1.0": []}
SR_TYPES = ("ext", "nfs", "lvm")
# The lab's kernels may lack 802.1q (no `ip link add ... type vlan`): each VLAN sub-interface of network_scheme
# (eth1.101) is then a NIC of its own, on a segment of its own (seg-eth1.101) - the same separation the tag gives.
VLANS_AS_SEGMENTS = True


def is_controller(roles: Iterable[str]) -> bool:
    """A node with a controller role (controller, primary-controller)."""
    return any("controller" in role for role in roles)


class FixturesError(LabError):
    """The fixtures cannot make a lab (one line, says which file and why)."""


@dataclass(frozen=True)
class NodeNic:
    name: str
    mac: str
    segment: str


@dataclass
class FuelNode:
    """One Fuel node: its lab host name, roles, astute data (plugin section included) and networks."""

    name: str
    uid: str
    roles: list[str]
    astute: dict[str, Any] = field(repr=False)
    network: NodeNetwork = field(repr=False)
    nics: list[NodeNic]
    source: str
    himn_nic: str | None = None
    dom0: str | None = None

    @property
    def is_compute(self) -> bool:
        return "compute" in self.roles

    @property
    def is_controller(self) -> bool:
        return is_controller(self.roles)

    def vips(self) -> list[tuple[str, str]]:
        """(CIDR, bridge) of the environment's virtual IPs, which the lab puts on the primary controller
        (Fuel runs them in Pacemaker-managed namespaces on a controller): same prefix as the bridge's network."""
        if "primary-controller" not in self.roles:
            return []
        found = []
        bridges = (self.astute.get("network_scheme") or {}).get("roles") or {}
        for vip in ((self.astute.get("network_metadata") or {}).get("vips") or {}).values():
            bridge = bridges.get(str(vip.get("network_role")))
            own = self.network.address(bridge) if bridge else None
            if own is None or not vip.get("ipaddr") or str(vip["ipaddr"]) == str(own.ip):
                continue
            found.append((f"{vip['ipaddr']}/{own.network.prefixlen}", bridge))
        return found

    def ip(self, bridge: str) -> str | None:
        address = self.network.address(bridge)
        return str(address.ip) if address else None

    def astute_yaml(self) -> str:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump(self.astute, Dumper=dumper, default_flow_style=False, sort_keys=True)


@dataclass
class XenHost:
    """A XenServer host of the lab: the Dom0 that runs one compute VM."""

    name: str
    compute_node: str
    version: str
    hotfixes: list[str]
    sr_type: str
    vifs: list[tuple[str, str, str]]  # (device, MAC, Dom0 bridge) of the compute VM

    def host_config(self, password: str) -> Any:
        """The C1 HostConfig the lab's XenAPI server loads."""
        from lab.xenserver.config import HostConfig

        return HostConfig.default(self.name, version=self.version, password=password,
                                  compute_vm_vifs=list(self.vifs), hotfixes=list(self.hotfixes),
                                  sr_type=self.sr_type, compute_vm_name=self.compute_node)

    @property
    def himn_port(self) -> tuple[str, str]:
        """Dom0's end of the HIMN: the compute VM's backend interface vif<domid>.<device>, and its MAC."""
        device = next(dev for dev, _, bridge in self.vifs if bridge == HIMN_BRIDGE)
        uid = int(self.name.split("-")[-1])
        return f"vif1.{device}", f"fe:ff:ff:{uid // 256:02x}:{uid % 256:02x}:{int(device):02x}"


@dataclass
class Environment:
    nodes: list[FuelNode]
    xenhosts: list[XenHost]
    password: str = field(repr=False)
    source: str = "default"

    def node(self, name: str) -> FuelNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def xenhost(self, name: str) -> XenHost:
        for host in self.xenhosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def controllers(self) -> list[FuelNode]:
        return [node for node in self.nodes if node.is_controller]

    def with_role(self, *roles: str) -> list[FuelNode]:
        return [node for node in self.nodes if any(role in node.roles for role in roles)]

@dataclass(frozen=True)
class HostChoice:
    """XenServer settings of one lab host (cycled over the compute nodes)."""

    version: str = "7.0.0"
    hotfixes: tuple[str, ...] | None = None  # None: what the version requires
    sr_type: str = "ext"


def parse_versions(text: str) -> list[str]:
    """'7.0,7.1' -> ['7.0.0', '7.1.0']."""
    versions = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        version = XENSERVER_VERSIONS.get(item, item)
        if version not in REQUIRED_HOTFIXES:
            raise FixturesError(f"unknown XenServer version {item!r} (lab has {', '.join(XENSERVER_VERSIONS)})")
        versions.append(version)
    return versions


def load_fixtures(directory: Path | None) -> dict[str, dict[str, Any]]:
    """astute data by file name; the generated default environment when no directory is given."""
    if directory is None:
        return defaultenv.generate()
    if not directory.is_dir():
        raise FixturesError(f"fixtures directory {directory} does not exist")
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise FixturesError(f"fixtures directory {directory} holds no astute .yaml files")
    found = {}
    for path in files:
        try:
            data = yaml.load(path.read_text(), Loader=SAFE_LOADER)
        except yaml.YAMLError as error:
            raise FixturesError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(data, dict) or "uid" not in data:
            raise FixturesError(f"{path}: not an astute.yaml (no uid)")
        found[path.name] = data
    return found


def build_environment(fixtures: dict[str, dict[str, Any]], password: str,
                      hosts: list[HostChoice] | None = None, plugin: dict[str, Any] | None = None,
                      source: str = "default") -> Environment:
    """Nodes and XenServer hosts for the given astute data, plugin sections rewritten for `password`."""
    hosts = hosts or [HostChoice()]
    nodes: list[FuelNode] = []
    for file_name, data in sorted(fixtures.items(), key=lambda item: int(item[1]["uid"])):
        nodes.append(_node(file_name, data, password, plugin or {}))
    names = [node.name for node in nodes]
    if len(set(names)) != len(names):
        raise FixturesError("two fixture files describe the same node uid")
    _check_unique_addresses(nodes)
    computes = [node for node in nodes if node.is_compute]
    if not computes:
        raise FixturesError(f"{source}: no compute node among {', '.join(sorted(fixtures))}: "
                                "the lab needs at least one compute node to run on a XenServer host")
    xenhosts = []
    for index, node in enumerate(computes):
        choice = hosts[index % len(hosts)]
        xenhosts.append(_xenhost(node, choice))
    return Environment(nodes=nodes, xenhosts=xenhosts, password=password, source=source)


def _node(file_name: str, data: dict[str, Any], password: str, plugin: dict[str, Any]) -> FuelNode:
    uid = str(data["uid"])
    roles = data.get("roles") or ([data["role"]] if data.get("role") else [])
    if not roles:
        raise FixturesError(f"{file_name}: node {uid} has no roles")
    name = f"node-{uid}"
    try:
        network = build(data.get("network_scheme"), file_name)
    except NetconfigError as error:
        raise FixturesError(f"cannot build the node's network: {error}") from None
    macs = _macs(data, network.physical_nics, uid)
    unused = network.unused_nics
    himn = unused[-1] if ("compute" in roles and unused) else None
    if "compute" in roles and himn is None:
        raise FixturesError(f"{file_name}: compute node {uid} has no NIC free of Fuel networks for the HIMN")
    nics = [NodeNic(nic, macs[nic], _segment(nic)) for nic in network.physical_nics if nic != himn]
    if himn:
        nics.append(NodeNic(himn, macs[himn], himn_segment(dom0_name(uid))))
    if VLANS_AS_SEGMENTS:
        nics += [NodeNic(vlan.name, _vlan_mac(macs[vlan.parent], vlan.vid), _segment(vlan.name))
                 for vlan in network.vlans]
    return FuelNode(name=name, uid=uid, roles=list(roles), astute=with_plugin_section(data, password, plugin),
                    network=network, nics=nics, source=file_name, himn_nic=himn,
                    dom0=dom0_name(uid) if "compute" in roles else None)


def _check_unique_addresses(nodes: list[FuelNode]) -> None:
    """Fixtures from different environments clash: one address on two nodes cannot be built."""
    owner: dict[str, str] = {}
    for node in nodes:
        addresses = [str(a.ip) for cidrs in node.network.addresses.values() for a in cidrs]
        addresses += [cidr.split("/")[0] for cidr, _ in node.vips()]
        for address in addresses:
            if address in owner and owner[address] != node.source:
                raise FixturesError(f"{owner[address]} and {node.source} both use {address}: "
                                    "are these fixtures from different environments?")
            owner[address] = node.source


def dom0_name(uid: str) -> str:
    return f"xs-{uid}"


def _vlan_mac(parent_mac: str, vid: int) -> str:
    """A locally administered MAC for a VLAN sub-interface played by its own lab NIC."""
    tail = parent_mac.split(":")[3:]
    return ":".join(["02", f"{vid >> 8:02x}", f"{vid & 0xff:02x}", *tail])


def _segment(nic: str) -> str:
    """Same NIC name on every node = same physical network (VLAN tags separate what shares it)."""
    return f"seg-{nic}"


def _macs(data: dict[str, Any], nics: list[str], uid: str) -> dict[str, str]:
    """NIC MACs from the provisioning data; stable generated ones when the data has none (noop fixtures)."""
    known = ((data.get("provision") or {}).get("interfaces") or {})
    macs = {}
    for index, nic in enumerate(nics):
        value = (known.get(nic) or {}).get("mac_address")
        macs[nic] = str(value).lower() if value else f"00:16:3e:{int(uid) % 256:02x}:{index:02x}:{int(uid) // 256:02x}"
    return macs


def _xenhost(node: FuelNode, choice: HostChoice) -> XenHost:
    vifs = []
    physical = [nic for nic in node.nics if nic.name in node.network.physical_nics and nic.name != node.himn_nic]
    for index, nic in enumerate(physical):
        vifs.append((str(index), nic.mac, f"xenbr{index}"))
    himn = next(nic for nic in node.nics if nic.name == node.himn_nic)
    vifs.append((str(len(vifs)), himn.mac, HIMN_BRIDGE))
    hotfixes = list(choice.hotfixes) if choice.hotfixes is not None else list(REQUIRED_HOTFIXES[choice.version])
    if choice.sr_type not in SR_TYPES:
        raise FixturesError(f"unknown SR type {choice.sr_type!r} (lab has {', '.join(SR_TYPES)})")
    return XenHost(name=dom0_name(node.uid), compute_node=node.name, version=choice.version, hotfixes=hotfixes,
                   sr_type=choice.sr_type, vifs=vifs)


def with_plugin_section(data: dict[str, Any], password: str, plugin: dict[str, Any]) -> dict[str, Any]:
    """The node's data with the plugin enabled as Nailgun serialises it (credentials = the lab's hosts).

    `plugin` holds `metadata` (metadata.yaml) and `attributes` (environment_config.yaml's `attributes`)
    of the plugin being deployed; existing values (install_xapi, username) are kept, the password replaced.
    """
    result = copy.deepcopy(data)
    attributes = dict(plugin.get("attributes") or {})
    meta_yaml = plugin.get("metadata") or {}
    section = dict(result.get(PLUGIN_NAME) or {})
    for name, attr in attributes.items():
        if name != "metadata" and isinstance(attr, dict) and "value" in attr:
            section.setdefault(name, attr["value"])
    section.setdefault("username", "root")
    section.setdefault("install_xapi", True)
    section["password"] = password
    metadata = dict(section.get("metadata") or {})
    metadata.update({"class": "plugin", "toggleable": True, "weight": 70, "enabled": True,
                     "label": meta_yaml.get("title", metadata.get("label", "XenServer Plugin")),
                     "hot_pluggable": bool(meta_yaml.get("is_hotpluggable", False))})
    metadata.update(attributes.get("metadata") or {})
    metadata.setdefault("plugin_id", 1)
    if meta_yaml.get("version"):
        metadata["plugin_version"] = str(meta_yaml["version"])
    section["metadata"] = metadata
    result[PLUGIN_NAME] = section
    master = result.get("master_ip", "127.0.0.1")
    entry = {"name": PLUGIN_NAME,
             "scripts": [{"local_path": PLUGIN_SCRIPTS_PATH,
                          "remote_url": f"rsync://{master}:/plugins/{PLUGIN_DIR_NAME}/deployment_scripts/"}],
             "repositories": [{"type": "deb", "name": PLUGIN_DIR_NAME, "suite": "/", "section": "",
                               "priority": 1100,
                               "uri": f"http://{master}:8080/plugins/{PLUGIN_DIR_NAME}/repositories/ubuntu"}]}
    plugins = [p for p in (result.get("plugins") or []) if _plugin_name(p) != PLUGIN_NAME]
    result["plugins"] = plugins + [entry]
    return result


def _plugin_name(entry: object) -> str | None:
    return entry.get("name") if isinstance(entry, dict) else str(entry)


def lab_spec(env: Environment, prefix: str, python: str = "2.7") -> Any:
    """The C2 LabSpec: one lab host per Fuel node and per XenServer host, NICs on their segments."""
    from lab.spec import HostSpec, LabSpec, Nic

    hosts = [HostSpec(name=node.name, kind="node", python=python,  # type: ignore[arg-type]
                      nics=[Nic(nic.name, nic.mac, nic.segment) for nic in node.nics])
             for node in env.nodes]
    for xenhost in env.xenhosts:
        port, mac = xenhost.himn_port
        hosts.append(HostSpec(name=xenhost.name, kind="dom0", nics=[Nic(port, mac, himn_segment(xenhost.name))],
                              xenserver=xenhost.host_config(env.password), root_password=env.password))
    return LabSpec(prefix=prefix, hosts=hosts)
