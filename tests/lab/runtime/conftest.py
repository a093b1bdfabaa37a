"""Lab runtime tests: real namespaces, links and services; they need root and clean up after themselves."""
import os

from lab import namespaces


def leftovers(prefix: str, state_dir) -> list[str]:
    """Everything of lab `prefix` still on the machine: namespaces, root-namespace links, mounts, processes."""
    found = [f"netns {name}" for name in namespaces.list_netns(prefix)]
    links = os.listdir("/sys/class/net")
    found += [f"link {name}" for name in links if name.startswith(prefix)]
    with open("/proc/mounts") as mounts:
        for line in mounts:
            if str(state_dir) in line or f"/run/netns/{prefix}-" in line:
                found.append(f"mount {line.strip()}")
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = open(f"/proc/{entry.name}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(state_dir) in cmdline:
                found.append(f"process {entry.name}: {cmdline}")
    return found
