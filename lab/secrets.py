"""Find a secret everywhere a lab can see: files its hosts wrote, their /tmp and /run, the lab's logs, and the
argument lists and environments of every process in its namespaces.

The plugin's rule is that the XenServer password never appears in a log, a process argument list or a
world-readable file; tests call find_secret() after a deployment and judge the sightings.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lab import namespaces
from lab.host import LabHost
from lab.runtime import Lab, host_mounts

PRIVATE_TMPFS = ("/tmp", "/run", "/dev/shm")


@dataclass(frozen=True)
class Sighting:
    kind: str            # "file" (written in a host), "log" (the lab's own logs), "argv", "environ"
    host: str | None     # the lab host, when known
    where: str           # the path inside the host, the log's path on this machine, or "pid N"
    world_readable: bool


def find_secret(lab: Lab, secret: str) -> list[Sighting]:
    needle = secret.encode()
    found: list[Sighting] = []
    for name, host in lab.hosts.items():
        for inside, real in _host_files(lab, name, host.holder_pid):
            if _contains(real, needle):
                mode = real.stat().st_mode
                found.append(Sighting("file", name, inside, bool(mode & stat.S_IROTH)))
    logs = lab.state_dir / "logs"
    for real in sorted(logs.rglob("*")) if logs.is_dir() else []:
        if real.is_file() and _contains(real, needle):
            found.append(Sighting("log", None, str(real), bool(real.stat().st_mode & stat.S_IROTH)))
    found += _processes(lab, needle)
    return found


def _host_files(lab: Lab, name: str, holder_pid: int):
    """(path inside the host, path on this machine) of every file the host wrote."""
    root = lab.state_dir / "hosts" / name / "upper"
    for mount in host_mounts():
        kind, _, directory = mount.partition(":")
        if kind not in ("overlay", "fresh"):
            continue
        upper = root / directory.replace("/", "_")
        for real in _files(upper):
            yield f"{directory}/{real.relative_to(upper)}", real
    for directory in PRIVATE_TMPFS:
        seen = Path(f"/proc/{holder_pid}/root{directory}")
        for real in _files(seen):
            yield f"{directory}/{real.relative_to(seen)}", real


def files_holding(host: LabHost, secret: str, *directories: str) -> list[str]:
    """Paths, inside a host, of the files under directories that hold secret (one filesystem each, as the
    repo bound into a host that covers its parent is not the host's)."""
    script = 'find "$@" -xdev -type f -exec grep -lF -e "$SECRET" {} + 2>/dev/null; true'
    return host.sh(script, *directories, env={"SECRET": secret}).stdout.split()


def _files(top: Path):
    """Files under top on top's own filesystem (a repo bound into a host's /tmp is not the host's file)."""
    device = top.stat().st_dev if top.is_dir() else None
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.lstat(os.path.join(dirpath, d)).st_dev == device]
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.is_file() and not path.is_symlink():
                yield path


def _contains(path: Path, needle: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return needle in handle.read()
    except OSError:
        return False


def _processes(lab: Lab, needle: bytes) -> list[Sighting]:
    nets = {namespaces.ns_inode(namespaces.netns_path(h.netns)) for h in lab.hosts.values()}
    mnts = {namespaces.ns_inode(f"/proc/{h.holder_pid}/ns/mnt") for h in lab.hosts.values()}
    by_net = {namespaces.ns_inode(namespaces.netns_path(h.netns)): name for name, h in lab.hosts.items()}
    found = []
    for pid in namespaces.pids_in(nets - {None}, mnts - {None}):
        host = by_net.get(namespaces.ns_inode(f"/proc/{pid}/ns/net"))
        for kind, source in (("argv", "cmdline"), ("environ", "environ")):
            try:
                data = Path(f"/proc/{pid}/{source}").read_bytes()
            except OSError:
                continue
            if needle in data:
                found.append(Sighting(kind, host, f"pid {pid}", kind == "argv"))
    return found
