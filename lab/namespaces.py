"""Network namespaces and the processes inside them, found through /proc (killed by PID, never by name)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pyroute2 import netns as pyroute2_netns

NETNS_DIR = Path("/run/netns")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


def netns_exists(name: str) -> bool:
    return netns_path(name).exists()


def list_netns(prefix: str) -> list[str]:
    """The namespaces of lab `prefix` (`<prefix>-*`; prefixes hold no dash, so no other lab matches)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(f"{prefix}-"))


def create_netns(name: str) -> None:
    pyroute2_netns.create(name)


def remove_netns(name: str) -> None:
    if netns_exists(name):
        pyroute2_netns.remove(name)


def ns_inode(path: str | Path) -> int | None:
    """Inode identifying a namespace (a /run/netns file or a /proc/PID/ns/* link); None if it is gone."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks: with the PID, it tells a process from a later one with its PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def pids_in(net_inodes: set[int], mnt_inodes: set[int]) -> list[int]:
    """Every process whose network or mount namespace is one of those given."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        net = ns_inode(f"/proc/{pid}/ns/net")
        mnt = ns_inode(f"/proc/{pid}/ns/mnt")
        if (net is not None and net in net_inodes) or (mnt is not None and mnt in mnt_inodes):
            found.append(pid)
    return found


def alive(pid: int, started: int | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, if `started` is given, is still the process that started then."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def kill_all(pids: list[int], grace: float = 2.0) -> None:
    """SIGTERM each PID, wait up to `grace` seconds, then SIGKILL what is left."""
    started = {pid: start_time(pid) for pid in pids}
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p, s) for p, s in started.items()):
        time.sleep(0.05)
    for pid, start in started.items():
        if alive(pid, start):
            _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(alive(p, s) for p, s in started.items()):
        time.sleep(0.02)
    for pid in pids:
        _reap(pid)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect our own exited children so they do not linger as zombies."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
