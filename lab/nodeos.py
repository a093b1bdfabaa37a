"""A Fuel 9.0 Ubuntu node as the plugin's tasks see it (tools and files; networking is the Fuel side's)."""
from __future__ import annotations

from lab.host import LabHost
from lab.paths import FILES, node_python
from lab.spec import HostSpec


def setup_node(host: LabHost, spec: HostSpec) -> None:
    host.run(["/bin/sh", str(FILES / "node-setup.sh"), str(FILES), str(node_python(spec.python)), spec.python])
    for key, value in xenstore_keys(spec).items():
        host.run(["xenstore-write", key, value])


def xenstore_keys(spec: HostSpec) -> dict[str, str]:
    """The VM's xenstore as the lab fills it: a compute VM's HIMN MAC, then whatever the spec adds."""
    keys = {}
    himn = spec.himn_nic()
    if himn is not None:
        keys["vm-data/himn_mac"] = himn.mac
    keys.update(spec.xenstore)
    return keys
