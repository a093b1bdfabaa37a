"""What a lab is made of, as data: hosts, their NICs, and the L2 segments that join them (contract C2).

A segment is one broadcast domain: a Linux bridge in the lab's switch namespace (VLAN-tagged frames pass
through). The HIMN of a Dom0 host is the segment `himn-<dom0 name>`; Dom0's port on it is enslaved to its
`xenapi` bridge (169.254.0.1/16) and the compute VM's HIMN NIC sits on the same segment.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lab.xenserver.config import HIMN_BRIDGE

HostKind = Literal["dom0", "node"]
NodePython = Literal["2.7", "3"]

DEFAULT_PREFIX = "fxl"
# No dash in a prefix: namespace names are `<prefix>-<host>`, so `fxl-` never matches another lab's names.
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")
HOST_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
NIC_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
SEGMENT_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")

HIMN_ADDRESS = "169.254.0.1"
HIMN_SEGMENT_PREFIX = "himn-"
# What XenServer's HIMN DHCP hands out: start, end, netmask (the router is always Dom0's HIMN address).
HIMN_DHCP_RANGE = ("169.254.0.2", "169.254.255.254", "255.255.0.0")


class SpecError(ValueError):
    """A lab description that cannot be built; the message says what to change."""


def himn_segment(dom0_name: str) -> str:
    return f"{HIMN_SEGMENT_PREFIX}{dom0_name}"


@dataclass(frozen=True)
class Nic:
    name: str      # interface name inside the host, e.g. eth0
    mac: str       # lower-case colon form
    segment: str   # the segment (bridge in the switch namespace) the NIC is plugged into


@dataclass
class HostSpec:
    name: str
    kind: HostKind
    nics: list[Nic] = field(default_factory=list)
    python: NodePython = "2.7"
    # Dom0 only: the simulated XenServer (a lab.xenserver.config.HostConfig); None -> HostConfig.default(name).
    xenserver: Any = None
    # Dom0 only: what its HIMN DHCP server hands out (start, end, netmask); a non-HIMN range tests failures.
    dhcp_range: tuple[str, str, str] = HIMN_DHCP_RANGE
    # Node only: xenstore keys readable with xenstore-read (a compute VM's vm-data/himn_mac is added
    # automatically from its NIC on a HIMN segment).
    xenstore: dict[str, str] = field(default_factory=dict)
    # Dom0 only: root's password for sshd (kept in memory, never written to lab state; XenAPI checks the
    # HostConfig's hash). Also used to build the default HostConfig.
    root_password: str | None = field(default=None, repr=False)

    def himn_nic(self) -> Nic | None:
        """Dom0: its port on its own HIMN; node: its NIC on any HIMN segment (it is a compute VM)."""
        for nic in self.nics:
            if (self.kind == "dom0" and nic.segment == himn_segment(self.name)) or (
                    self.kind == "node" and nic.segment.startswith(HIMN_SEGMENT_PREFIX)):
                return nic
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; never the root password (a HostConfig holds only its hash)."""
        data = {"name": self.name, "kind": self.kind, "nics": [asdict(n) for n in self.nics], "python": self.python,
                "dhcp_range": list(self.dhcp_range), "xenstore": dict(self.xenstore)}
        if self.xenserver is not None:
            data["xenserver"] = json.loads(self.xenserver.to_json())
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostSpec:
        xenserver = None
        if data.get("xenserver") is not None:
            from lab.xenserver.config import HostConfig
            xenserver = HostConfig.from_json(json.dumps(data["xenserver"]))
        return cls(name=data["name"], kind=data["kind"], nics=[Nic(**n) for n in data["nics"]],
                   python=data.get("python", "2.7"), xenserver=xenserver,
                   dhcp_range=tuple(data.get("dhcp_range", HIMN_DHCP_RANGE)), xenstore=dict(data.get("xenstore", {})))


@dataclass
class LabSpec:
    prefix: str
    hosts: list[HostSpec]
    segments: list[str] = field(default_factory=list)   # empty: every segment a NIC names

    def host(self, name: str) -> HostSpec:
        for host in self.hosts:
            if host.name == name:
                return host
        raise SpecError(f"unknown host {name!r} (hosts: {', '.join(h.name for h in self.hosts)})")

    def all_segments(self) -> list[str]:
        named = list(self.segments)
        for host in self.hosts:
            for nic in host.nics:
                if nic.segment not in named:
                    named.append(nic.segment)
        return named

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "hosts": [h.to_dict() for h in self.hosts], "segments": self.all_segments()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabSpec:
        return cls(prefix=data["prefix"], hosts=[HostSpec.from_dict(h) for h in data["hosts"]],
                   segments=list(data.get("segments", [])))

    def validate(self) -> None:
        """Raise SpecError naming the first thing that cannot be built."""
        if not PREFIX_RE.match(self.prefix):
            raise SpecError(f"lab prefix {self.prefix!r}: use 1-6 lower-case letters/digits, starting with a letter")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise SpecError(f"host names repeat: {names}")
        if "sw" in names:
            raise SpecError("host name 'sw' is reserved for the lab's switch namespace")
        macs: set[str] = set()
        segments = set(self.all_segments())
        for host in self.hosts:
            _validate_host(host, segments, macs)


def _validate_host(host: HostSpec, segments: set[str], macs: set[str]) -> None:
    if not HOST_NAME_RE.match(host.name):
        raise SpecError(f"host name {host.name!r}: use lower-case letters, digits and dashes")
    if host.kind not in ("dom0", "node"):
        raise SpecError(f"host {host.name}: kind {host.kind!r} is neither 'dom0' nor 'node'")
    if host.python not in ("2.7", "3"):
        raise SpecError(f"host {host.name}: python {host.python!r} is neither '2.7' nor '3'")
    nic_names = [n.name for n in host.nics]
    if len(set(nic_names)) != len(nic_names):
        raise SpecError(f"host {host.name}: NIC names repeat: {nic_names}")
    for nic in host.nics:
        if not NIC_NAME_RE.match(nic.name) or nic.name in ("lo", HIMN_BRIDGE):
            raise SpecError(f"host {host.name}: NIC name {nic.name!r} is not a usable interface name")
        if not MAC_RE.match(nic.mac):
            raise SpecError(f"host {host.name}: NIC {nic.name} MAC {nic.mac!r} is not lower-case aa:bb:cc:dd:ee:ff")
        if nic.mac in macs:
            raise SpecError(f"host {host.name}: NIC {nic.name} MAC {nic.mac} is used twice in the lab")
        macs.add(nic.mac)
        if not SEGMENT_RE.match(nic.segment) or nic.segment not in segments:
            raise SpecError(f"host {host.name}: NIC {nic.name} segment {nic.segment!r} is not a valid segment")
    if host.kind == "dom0" and host.himn_nic() is None:
        raise SpecError(f"Dom0 {host.name}: no NIC on its HIMN segment {himn_segment(host.name)!r}")
    try:
        start, end, netmask = (ipaddress.IPv4Address(a) for a in host.dhcp_range)
        ipaddress.IPv4Network(f"0.0.0.0/{netmask}")
    except ValueError as err:
        raise SpecError(f"host {host.name}: DHCP range {host.dhcp_range!r} is not (start, end, netmask): "
                        f"{err}") from None
    if start > end:
        raise SpecError(f"host {host.name}: DHCP range starts after it ends: {host.dhcp_range!r}")
