"""Small lab specs the runtime tests bring up."""
import secrets

from lab.spec import HostSpec, LabSpec, Nic

PASSWORD = "Lab-runtime-pw-7f3a"


def unique_prefix(tag: str) -> str:
    """A prefix of this test run only (`r<tag><4 hex>`): concurrent runs on a shared machine never meet."""
    return f"r{tag}{secrets.token_hex(2)}"


def mac(lab: int, host: int, nic: int) -> str:
    return f"02:7a:{lab:02x}:{host:02x}:{nic:02x}:01"


def xenserver_pair(lab: int, index: int, dhcp_range=None) -> list[HostSpec]:
    """A Dom0 `xs<index>` and its compute VM `compute<index>` (eth0 on mgmt, eth1 on the HIMN)."""
    dom0 = HostSpec(f"xs{index}", "dom0", [Nic("eth9", mac(lab, 10 + index, 9), f"himn-xs{index}")],
                    root_password=PASSWORD)
    if dhcp_range:
        dom0.dhcp_range = dhcp_range
    compute = HostSpec(f"compute{index}", "node", [Nic("eth0", mac(lab, 20 + index, 0), "mgmt"),
                                                   Nic("eth1", mac(lab, 20 + index, 1), f"himn-xs{index}")])
    return [dom0, compute]


def demo_like(prefix: str, lab: int = 1) -> LabSpec:
    """The demo's shape: 2 XenServer hosts with their compute VMs, a controller and a storage node
    (the storage node plays the Python 3 variant)."""
    hosts = xenserver_pair(lab, 1) + xenserver_pair(lab, 2)
    hosts.append(HostSpec("controller", "node", [Nic("eth0", mac(lab, 30, 0), "mgmt")]))
    hosts.append(HostSpec("storage", "node", [Nic("eth0", mac(lab, 31, 0), "mgmt")], python="3"))
    return LabSpec(prefix, hosts)
