"""The lab's wiring: a switch namespace with one Linux bridge per segment, and a veth per host NIC.

The switch end of each veth is a bridge port in `<prefix>-sw`; the other end is created directly inside the
host's namespace with the NIC's name and MAC, so nothing ever appears in the root namespace. Bridges keep
VLAN filtering off, so tagged frames pass as on a plain access switch trunk.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pyroute2 import NetNS

from lab.spec import LabSpec


def switch_netns(prefix: str) -> str:
    return f"{prefix}-sw"


def bridge_name(prefix: str, index: int) -> str:
    return f"{prefix}s{index}"


def port_name(prefix: str, host_index: int, nic_index: int) -> str:
    return f"{prefix}h{host_index}n{nic_index}"


def wire(spec: LabSpec, host_netns: dict[str, str]) -> dict[str, str]:
    """Create the segment bridges and every NIC's veth; return {segment: bridge name in the switch ns}."""
    bridges: dict[str, str] = {}
    with NetNS(switch_netns(spec.prefix)) as sw:
        _up(sw, "lo")
        for index, segment in enumerate(spec.all_segments()):
            name = bridge_name(spec.prefix, index)
            sw.link("add", ifname=name, kind="bridge", br_stp_state=0, br_forward_delay=0)
            sw.link("set", index=_index(sw, name), ifalias=segment, state="up")
            bridges[segment] = name
        for host_index, host in enumerate(spec.hosts):
            for nic_index, nic in enumerate(host.nics):
                port = port_name(spec.prefix, host_index, nic_index)
                sw.link("add", ifname=port, kind="veth",
                        peer={"ifname": nic.name, "address": nic.mac, "net_ns_fd": host_netns[host.name]})
                sw.link("set", index=_index(sw, port), master=_index(sw, bridges[nic.segment]),
                        ifalias=f"{host.name}/{nic.name}", state="up")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda host: _up_all(host_netns[host.name], ["lo", *(n.name for n in host.nics)]), spec.hosts))
    return bridges


def _up_all(netns: str, ifnames: list[str]) -> None:
    with NetNS(netns) as ns:
        for ifname in ifnames:
            _up(ns, ifname)


def _index(ns: NetNS, ifname: str) -> int:
    found = ns.link_lookup(ifname=ifname)
    if not found:
        raise LookupError(f"no link {ifname}")
    return found[0]


def _up(ns: NetNS, ifname: str) -> None:
    ns.link("set", index=_index(ns, ifname), state="up")
