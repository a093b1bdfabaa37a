"""A node's networks from its astute.yaml `network_scheme`, built as Fuel's l23network would build them.

Only the data is computed here (bridges, ports, VLAN sub-interfaces, patches, addresses, routes); the lab
applies the resulting `ip` commands inside the node's network namespace. OVS bridges (`provider: ovs`,
e.g. br-prv) become Linux bridges and an OVS patch becomes a veth pair: the traffic the plugin cares about
(L2 + L3 between nodes) behaves the same, and the nodes need no Open vSwitch.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field

SUPPORTED_ACTIONS = {"add-br", "add-port", "add-patch"}
VLAN_NAME = re.compile(r"^(?P<parent>[A-Za-z0-9_-]+)\.(?P<vid>\d+)$")
IFNAME_MAX = 15


class NetconfigError(ValueError):
    """The network_scheme cannot be built in the lab (the message names the node's data at fault)."""


@dataclass(frozen=True)
class Vlan:
    name: str
    parent: str
    vid: int


@dataclass(frozen=True)
class Patch:
    """An OVS patch between two bridges, built as a veth pair (one end in each bridge)."""

    bridges: tuple[str, str]
    ends: tuple[str, str]


@dataclass(frozen=True)
class Route:
    net: str
    via: str
    dev: str


@dataclass
class NodeNetwork:
    """Everything the node's network configuration creates, in the order it is created."""

    physical_nics: list[str]
    bridges: dict[str, str] = field(default_factory=dict)  # name -> provider (lnx | ovs)
    vlans: list[Vlan] = field(default_factory=list)
    ports: list[tuple[str, str]] = field(default_factory=list)  # (bridge, interface)
    patches: list[Patch] = field(default_factory=list)
    addresses: dict[str, list[ipaddress.IPv4Interface]] = field(default_factory=dict)  # device -> CIDRs
    routes: list[Route] = field(default_factory=list)
    default_gateway: tuple[str, str] | None = None  # (via, dev)

    @property
    def used_nics(self) -> set[str]:
        """Physical NICs that carry a Fuel network (directly or through a VLAN sub-interface)."""
        used = {vlan.parent for vlan in self.vlans}
        used.update(port for _, port in self.ports if port in self.physical_nics)
        used.update(dev for dev in self.addresses if dev in self.physical_nics)
        return used

    @property
    def unused_nics(self) -> list[str]:
        return [nic for nic in self.physical_nics if nic not in self.used_nics]

    def nics_behind(self, bridge: str) -> list[str]:
        """Physical NICs whose traffic reaches `bridge` (through its ports, VLANs and patches): for br-prv,
        the private NIC, wherever it sits (br-aux, br-fw-admin, ...)."""
        seen, todo, found = {bridge}, [bridge], []
        vlan_parent = {vlan.name: vlan.parent for vlan in self.vlans}
        while todo:
            current = todo.pop()
            for br, port in self.ports:
                nic = vlan_parent.get(port, port)
                if br == current and nic in self.physical_nics and nic not in found:
                    found.append(nic)
            for patch in self.patches:
                if current in patch.bridges:
                    other = patch.bridges[1] if patch.bridges[0] == current else patch.bridges[0]
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
        return found

    def address(self, device: str) -> ipaddress.IPv4Interface | None:
        found = self.addresses.get(device) or []
        return found[0] if found else None

    def commands(self, vlans_provided: bool = False) -> list[list[str]]:
        """`ip` commands that build this network in an empty namespace holding the physical NICs.

        vlans_provided: the VLAN sub-interfaces already exist (the lab gives each one its own segment
        when the kernel has no 802.1q support), so they are only brought up and enslaved.
        """
        cmds: list[list[str]] = []
        for nic in self.physical_nics:
            cmds.append(["ip", "link", "set", nic, "up"])
        for bridge in self.bridges:
            cmds.append(["ip", "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
            cmds.append(["ip", "link", "set", bridge, "up"])
        for vlan in self.vlans:
            if not vlans_provided:
                cmds.append(["ip", "link", "add", "link", vlan.parent, "name", vlan.name, "type", "vlan", "id",
                             str(vlan.vid)])
            cmds.append(["ip", "link", "set", vlan.name, "up"])
        for patch in self.patches:
            cmds.append(["ip", "link", "add", patch.ends[0], "type", "veth", "peer", "name", patch.ends[1]])
            for bridge, end in zip(patch.bridges, patch.ends, strict=True):
                cmds.append(["ip", "link", "set", end, "master", bridge])
                cmds.append(["ip", "link", "set", end, "up"])
        for bridge, port in self.ports:
            cmds.append(["ip", "link", "set", port, "master", bridge])
        for device, cidrs in self.addresses.items():
            for cidr in cidrs:
                cmds.append(["ip", "addr", "add", str(cidr), "dev", device])
        if self.default_gateway:
            via, dev = self.default_gateway
            cmds.append(["ip", "route", "replace", "default", "via", via, "dev", dev])
        for route in self.routes:
            cmds.append(["ip", "route", "replace", route.net, "via", route.via, "dev", route.dev])
        return cmds

    def interfaces_files(self) -> dict[str, str]:
        """/etc/network/interfaces.d/ifcfg-* files like those l23network leaves on an Ubuntu node."""
        files: dict[str, str] = {}
        for bridge, provider in self.bridges.items():
            lines = [f"auto {bridge}"]
            cidrs = self.addresses.get(bridge) or []
            if cidrs:
                first = cidrs[0]
                lines += [f"iface {bridge} inet static", f"address {first.ip}", f"netmask {first.netmask}"]
                if self.default_gateway and self.default_gateway[1] == bridge:
                    lines.append(f"gateway {self.default_gateway[0]}")
            else:
                lines.append(f"iface {bridge} inet manual")
            ports = [port for br, port in self.ports if br == bridge]
            lines.append(f"bridge_ports {' '.join(ports) if ports else 'none'}")
            if provider == "ovs":
                lines.insert(0, "# OVS bridge in Fuel; a Linux bridge in the lab")
            files[f"/etc/network/interfaces.d/ifcfg-{bridge}"] = "\n".join(lines) + "\n"
        for vlan in self.vlans:
            files[f"/etc/network/interfaces.d/ifcfg-{vlan.name}"] = (
                f"auto {vlan.name}\niface {vlan.name} inet manual\nvlan-raw-device {vlan.parent}\n")
        return files


def build(network_scheme: object, node: str = "node") -> NodeNetwork:
    """Parse a network_scheme (network_scheme version 1.1, provider lnx with ovs bridges) into a NodeNetwork."""
    if not isinstance(network_scheme, dict):
        raise NetconfigError(f"{node}: astute.yaml has no network_scheme mapping")
    interfaces = network_scheme.get("interfaces")
    transformations = network_scheme.get("transformations")
    endpoints = network_scheme.get("endpoints")
    if not isinstance(interfaces, dict) or not interfaces:
        raise NetconfigError(f"{node}: network_scheme.interfaces is missing or empty")
    if not isinstance(transformations, list):
        raise NetconfigError(f"{node}: network_scheme.transformations is missing")
    if not isinstance(endpoints, dict):
        raise NetconfigError(f"{node}: network_scheme.endpoints is missing")
    net = NodeNetwork(physical_nics=[str(name) for name in interfaces])
    for index, step in enumerate(transformations):
        _apply(net, step, index, node)
    for device, endpoint in endpoints.items():
        _endpoint(net, str(device), endpoint, node)
    _check_names(net, node)
    return net


def _apply(net: NodeNetwork, step: object, index: int, node: str) -> None:
    where = f"{node}: network_scheme.transformations[{index}]"
    if not isinstance(step, dict) or "action" not in step:
        raise NetconfigError(f"{where} has no action")
    action = step["action"]
    if action not in SUPPORTED_ACTIONS:
        raise NetconfigError(f"{where}: action {action!r} is not supported by the lab "
                             f"(supported: {', '.join(sorted(SUPPORTED_ACTIONS))})")
    if action == "add-br":
        name = _name(step.get("name"), where)
        net.bridges[name] = str(step.get("provider", "lnx"))
    elif action == "add-port":
        bridge = _name(step.get("bridge"), where)
        port = _name(step.get("name"), where)
        if bridge not in net.bridges:
            raise NetconfigError(f"{where}: port {port} added to bridge {bridge}, which no add-br created")
        _port_device(net, port, step, where)
        net.ports.append((bridge, port))
    else:  # add-patch
        bridges = step.get("bridges")
        if not isinstance(bridges, list) or len(bridges) != 2:
            raise NetconfigError(f"{where}: add-patch needs exactly two bridges")
        for bridge in bridges:
            if bridge not in net.bridges:
                raise NetconfigError(f"{where}: patch to bridge {bridge}, which no add-br created")
        tag = hashlib.sha1("-".join(bridges).encode()).hexdigest()[:8]
        net.patches.append(Patch(bridges=(bridges[0], bridges[1]), ends=(f"p_{tag}-0", f"p_{tag}-1")))


def _port_device(net: NodeNetwork, port: str, step: dict, where: str) -> None:
    """A port is a physical NIC or a VLAN sub-interface of one (eth1.101, or vlan_dev + vlan_id)."""
    if port in net.physical_nics:
        return
    parent, vid = step.get("vlan_dev"), step.get("vlan_id")
    match = VLAN_NAME.match(port)
    if parent is None and match:
        parent, vid = match.group("parent"), match.group("vid")
    if parent is None:
        raise NetconfigError(f"{where}: port {port} is neither a NIC of network_scheme.interfaces "
                             "nor a VLAN sub-interface of one")
    if parent not in net.physical_nics:
        raise NetconfigError(f"{where}: VLAN {port} sits on {parent}, which is not in network_scheme.interfaces")
    vid_int = int(vid)
    if not 1 <= vid_int <= 4094:
        raise NetconfigError(f"{where}: VLAN id {vid_int} of {port} is out of range")
    if all(vlan.name != port for vlan in net.vlans):
        net.vlans.append(Vlan(name=port, parent=str(parent), vid=vid_int))


def _endpoint(net: NodeNetwork, device: str, endpoint: object, node: str) -> None:
    where = f"{node}: network_scheme.endpoints.{device}"
    known = set(net.bridges) | set(net.physical_nics) | {vlan.name for vlan in net.vlans}
    if device not in known:
        raise NetconfigError(f"{where}: no bridge or interface of that name is created")
    if not isinstance(endpoint, dict):
        raise NetconfigError(f"{where} is not a mapping")
    ips = endpoint.get("IP", "none")
    if ips not in ("none", None):
        if not isinstance(ips, list):
            raise NetconfigError(f"{where}.IP must be a list of CIDRs or 'none'")
        cidrs = []
        for value in ips:
            try:
                cidrs.append(ipaddress.IPv4Interface(str(value)))
            except ValueError as error:
                raise NetconfigError(f"{where}: bad address {value!r} ({error})") from None
            if "/" not in str(value):
                raise NetconfigError(f"{where}: address {value!r} has no prefix length")
        net.addresses[device] = cidrs
    gateway = endpoint.get("gateway")
    if gateway:
        _check_ip(gateway, where)
        if net.default_gateway:
            raise NetconfigError(f"{where}: a second default gateway ({gateway}); "
                                 f"{net.default_gateway[1]} already has one")
        net.default_gateway = (str(gateway), device)
    for route in endpoint.get("routes") or []:
        if not isinstance(route, dict) or "net" not in route or "via" not in route:
            raise NetconfigError(f"{where}.routes: each route needs net and via")
        try:
            network = ipaddress.IPv4Network(str(route["net"]))
        except ValueError as error:
            raise NetconfigError(f"{where}.routes: bad network {route['net']!r} ({error})") from None
        _check_ip(route["via"], where)
        net.routes.append(Route(net=str(network), via=str(route["via"]), dev=device))


def _check_ip(value: object, where: str) -> None:
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        raise NetconfigError(f"{where}: bad gateway address {value!r}") from None


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise NetconfigError(f"{where}: missing name")
    return value


def _check_names(net: NodeNetwork, node: str) -> None:
    names = list(net.bridges) + [vlan.name for vlan in net.vlans] + [end for p in net.patches for end in p.ends]
    for name in names + net.physical_nics:
        if len(name) > IFNAME_MAX:
            raise NetconfigError(f"{node}: interface name {name!r} is longer than Linux allows ({IFNAME_MAX})")
