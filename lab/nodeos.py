"""A Fuel 9.0 Ubuntu node as the plugin's tasks see it (tools and files; networking is the Fuel side's)."""
from __future__ import annotations

from typing import Any, NamedTuple

from lab.host import LabHost
from lab.paths import FILES, node_python
from lab.spec import HostSpec


def setup_node(host: LabHost, spec: HostSpec, hostname: str, vm: Any = None) -> None:
    """`vm`: the compute VM's record in its XenServer's HostConfig (C1 VmConfig), when it is one."""
    xenstore = [item for pair in xenstore_keys(spec, vm).items() for item in pair]
    host.run(["/bin/sh", str(FILES / "node-setup.sh"), str(FILES), hostname, str(node_python(spec.python)),
              spec.python, *xenstore])


def xenstore_keys(spec: HostSpec, vm: Any = None) -> dict[str, str]:
    """The VM's xenstore as the lab fills it (paths relative to its domain, /local/domain/<domid>): a compute
    VM's HIMN MAC, its domid, name and VM path from its XenServer's record, then whatever the spec adds."""
    keys = {}
    himn = spec.himn_nic()
    if himn is not None:
        keys["vm-data/himn_mac"] = himn.mac
    if vm is not None:
        keys.update({"domid": str(vm.domid), "name": vm.name_label, "vm": f"/vm/{vm.uuid}"})
    keys.update(spec.xenstore)
    return keys

SERVICES_LOG = "/var/log/lab/services.log"


class ServiceCall(NamedTuple):
    """One call of `service`, upstart's start/stop/restart/status/reload, or (Dom0) systemctl."""
    time: str
    name: str
    action: str
    tool: str


def service_calls(host: LabHost) -> list[ServiceCall]:
    """Every service call made in the host so far, oldest first (the stand-ins append to SERVICES_LOG)."""
    done = host.run(["cat", SERVICES_LOG], check=False)
    return [ServiceCall(*line.split("\t")) for line in done.stdout.splitlines() if line.count("\t") == 3]
