"""Bring a lab up from a LabSpec, find it again, and take it down without leaving anything behind (C2).

    lab = up(spec)                  # namespaces, overlays, links, Dom0 services; raises LabError
    lab.host("compute-1").run(["ip", "-o", "addr"])
    lab = attach(prefix)            # the same lab from another process (CLI exec/status)
    down(spec.prefix)               # every process, namespace, veth and mount of the prefix

What a lab host is:
- the network namespace `<prefix>-<host>`, its NICs veths into the switch namespace `<prefix>-sw`;
- a mount namespace (and UTS: its own hostname) held by a `sleep` process, entered with nsenter: /etc, /var
  and /usr are overlays over the machine's, /root, /home, /opt and /srv start empty (the interpreters under
  /root are bound in read-only), the venvs' site-packages are overlays, /tmp, /run and /dev/shm are private
  tmpfs, /sys is the namespace's own, /proc/sys is read-only except net.*, and the repo is read-only;
- commands run as root with a clean environment and without CAP_SYS_TIME, CAP_SYS_MODULE and CAP_SYS_BOOT.

State lives in `.work/lab/<prefix>/` (0700): `lab.json` (what was made: namespaces, holder and process PIDs
with their start times, the spec without passwords), `hosts/<host>/{upper,work}/` (the overlays' layers,
removed by down) and `logs/<host>/*.log` (holder, udhcpd, sshd, xenapi and spawned processes; kept until
the next up). A failed `up` takes down what it made before raising.
"""
from __future__ import annotations

import dataclasses
import os
import select
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import dom0, links, namespaces, nodeos
from lab.errors import LabError
from lab.host import LabHost, os_is_root
from lab.paths import FILES, NODE_VENV, REPO, STATE_ROOT, TOOLING_VENV, node_python, site_packages
from lab.spec import HostSpec, LabSpec, SpecError, himn_segment
from lab.state import LabState

# overlays over the machine's directories: the host sees the system and writes into its own layer
SYSTEM_OVERLAYS = ["/etc", "/var", "/usr"]
# overlays over an empty directory: the machine's home directories (and what they hold) stay out of hosts
FRESH_DIRS = ["/root", "/home", "/opt", "/srv"]
TMPFS_DIRS = ["/tmp", "/run"]
HOLDER_TIMEOUT = 15.0


@dataclass
class Lab:
    prefix: str
    state_dir: Path
    spec: LabSpec
    hosts: dict[str, LabHost]

    def host(self, name: str) -> LabHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise LabError(f"lab {self.prefix!r} has no host {name!r} (hosts: {', '.join(self.hosts)})") from None


def state_dir_for(prefix: str, state_dir: str | Path | None = None) -> Path:
    return Path(state_dir) if state_dir else STATE_ROOT / prefix


def host_mounts() -> list[str]:
    """The mounts of every host's namespace in order, as host-mounts.sh takes them.

    System dirs are overlays, home-like dirs fresh, /tmp and /run private tmpfs; the repo stays visible
    (bound back in when a fresh dir or tmpfs covers it, since the overlays' layers live in it) and read-only.
    """
    covers_repo = [d for d in FRESH_DIRS + TMPFS_DIRS if REPO.is_relative_to(d)]
    mounts = [f"overlay:{d}" for d in SYSTEM_OVERLAYS if Path(d).is_dir()]
    mounts += [f"fresh:{d}" for d in FRESH_DIRS if Path(d).is_dir() and d not in covers_repo]
    mounts += [f"tmpfs:{d}" for d in TMPFS_DIRS if d not in covers_repo]
    for d in covers_repo:  # last: once it is mounted, the state dir is reachable again only through the bind
        mounts += [f"fresh:{d}" if d in FRESH_DIRS else f"tmpfs:{d}", f"bind:{REPO}"]
    fresh = [m.split(":", 1)[1] for m in mounts if m.startswith("fresh:")]
    mounts += [f"keep:{p}" for p in interpreter_homes() if any(Path(p).is_relative_to(d) for d in fresh)]
    mounts += [f"overlay:{p}" for venv in (NODE_VENV, TOOLING_VENV) for p in site_packages(venv)]
    mounts.append(f"readonly:{REPO}")
    return mounts


def repo_location_problem() -> str | None:
    """Overlays cannot have their layers inside what they cover: the repo must not live in a system dir."""
    for d in SYSTEM_OVERLAYS:
        if REPO.is_relative_to(d):
            return f"the repo is under {d}, which lab hosts overlay; clone it elsewhere (e.g. /srv or /home)"
    return None


def interpreter_homes() -> list[str]:
    """Installation prefixes of the venvs' base interpreters (pyenv keeps them under /root)."""
    homes = []
    for venv in (NODE_VENV, TOOLING_VENV):
        cfg = venv / "pyvenv.cfg"
        if cfg.exists():
            for line in cfg.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    homes.append(str(Path(value.strip()).resolve().parent))
    return sorted(set(homes))


# programs the runtime and its hosts need, with the Debian package that brings each
REQUIRED_PROGRAMS = {
    "nsenter": "util-linux", "unshare": "util-linux", "setpriv": "util-linux", "ip": "iproute2",
    "udhcpd": "udhcpd", "sshd": "openssh-server", "ssh": "openssh-client", "ssh-keygen": "openssh-client",
    "dhclient": "isc-dhcp-client", "ifup": "ifupdown", "iptables": "iptables", "crontab": "cron",
    "ping": "iputils-ping", "chpasswd": "passwd", "useradd": "passwd",
}


def preflight() -> None:
    """Fail with one clear line when a program or interpreter the lab needs is missing."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    missing = sorted({pkg for prog, pkg in REQUIRED_PROGRAMS.items() if shutil.which(prog, path=path) is None})
    if missing:
        raise LabError(f"the lab needs system packages that are not installed: {' '.join(missing)} "
                       f"(apt-get install {' '.join(missing)})")
    problem = repo_location_problem()
    if problem:
        raise LabError(problem)
    for variant in ("2.7", "3"):
        if not node_python(variant).exists():
            raise LabError(f"the nodes' Python {variant} ({node_python(variant)}) is missing: run `make venvs`")


def require_root() -> None:
    if not os_is_root():
        raise LabError("the lab needs root (it creates network namespaces, veths and mounts): run it as root")


def is_up(prefix: str) -> bool:
    return bool(namespaces.list_netns(prefix))


def up(spec: LabSpec, state_dir: str | Path | None = None) -> Lab:
    """Create every host, link and Dom0 service of `spec`; on any failure remove all of it and raise."""
    require_root()
    preflight()
    try:
        spec.validate()
    except SpecError as err:
        raise LabError(str(err)) from None
    spec = with_xenserver_configs(spec)
    directory = state_dir_for(spec.prefix, state_dir)
    if is_up(spec.prefix):
        found = ", ".join(namespaces.list_netns(spec.prefix))
        raise LabError(f"a lab with prefix {spec.prefix!r} is already up ({found}); "
                       f"take it down first (down {spec.prefix}) or use another prefix")
    for stale in ("hosts", "logs"):
        shutil.rmtree(directory / stale, ignore_errors=True)
    state = LabState(directory)
    with state.update() as data:
        data.clear()
        data.update({"prefix": spec.prefix, "status": "starting", "spec": spec.to_dict(), "netns": [],
                     "hosts": {}, "processes": [], "started": time.time()})
    try:
        lab = _build(spec, directory, state)
    except BaseException:
        down(spec.prefix, directory)
        raise
    with state.update() as data:
        data["status"] = "up"
    return lab


def with_xenserver_configs(spec: LabSpec) -> LabSpec:
    """A copy of `spec` where every Dom0 has a HostConfig (defaults for those without one)."""
    nodes = [h for h in spec.hosts if h.kind == "node"]
    hosts = [dataclasses.replace(h, xenserver=h.xenserver or dom0.default_xenserver(h, nodes))
             if h.kind == "dom0" else h for h in spec.hosts]
    return dataclasses.replace(spec, hosts=hosts)


def compute_vm_record(spec: LabSpec, node: HostSpec) -> Any:
    """The node's VM record in its Dom0's HostConfig (matched by HIMN MAC), if it is a compute VM."""
    himn = node.himn_nic()
    if himn is None:
        return None
    dom0_spec = next((h for h in spec.hosts if h.kind == "dom0" and himn_segment(h.name) == himn.segment), None)
    if dom0_spec is None or dom0_spec.xenserver is None:
        return None
    vms = dom0_spec.xenserver.vms
    return next((vm for vm in vms if any(v.mac == himn.mac for v in vm.vifs)), vms[0] if vms else None)


def _build(spec: LabSpec, directory: Path, state: LabState) -> Lab:
    names = {host.name: f"{spec.prefix}-{host.name}" for host in spec.hosts}
    for netns in [links.switch_netns(spec.prefix), *names.values()]:
        with state.update() as data:
            data["netns"].append(netns)
        namespaces.create_netns(netns)
    with ThreadPoolExecutor(max_workers=8) as pool:
        hosts = dict(zip(names, pool.map(lambda h: _start_host(h, names[h.name], directory, state),
                                        spec.hosts), strict=True))
    links.wire(spec, names)
    lab = Lab(spec.prefix, directory, spec, hosts)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda h: _setup_host(hosts[h.name], h, spec), spec.hosts))
    return lab


def _start_host(spec: HostSpec, netns: str, directory: Path, state: LabState) -> LabHost:
    """Mount namespace with overlays, entered from the host's network namespace, held by a sleeping process."""
    root = directory / "hosts" / spec.name
    mounts = host_mounts()
    for mount in mounts:
        if mount.startswith(("overlay:", "fresh:")):
            key = mount.split(":", 1)[1].replace("/", "_")
            (root / "upper" / key).mkdir(parents=True, exist_ok=True)
            (root / "work" / key).mkdir(parents=True, exist_ok=True)
    hostname = host_name(spec)
    argv = ["nsenter", f"--net={namespaces.netns_path(netns)}", "--", "unshare", "--mount", "--uts",
            "--propagation", "private", "--", "/bin/sh", str(FILES / "host-mounts.sh"), str(root), hostname, *mounts]
    log_dir = directory / "logs" / spec.name
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "holder.log", "wb") as err:
        holder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                  start_new_session=True)
    with state.update() as data:
        data["hosts"][spec.name] = {"netns": netns, "kind": spec.kind, "holder_pid": holder.pid,
                                    "holder_start": namespaces.start_time(holder.pid)}
    assert holder.stdout is not None
    ready, _, _ = select.select([holder.stdout], [], [], HOLDER_TIMEOUT)
    line = holder.stdout.readline() if ready else b""
    holder.stdout.close()
    if line.strip() != b"ready":
        raise LabError(f"host {spec.name}: its mount namespace could not be set up; see {log_dir / 'holder.log'}: "
                       + (log_dir / "holder.log").read_text(errors="replace")[-800:])
    host = LabHost(spec.name, spec.kind, netns, holder.pid, log_dir)
    host.on_spawn = lambda name, pid, argv: _record_spawn(state, name, pid, argv)
    return host


def host_name(spec: HostSpec) -> str:
    """The host's own hostname (a Dom0 takes its XenServer's)."""
    return dom0.dom0_hostname(spec) if spec.kind == "dom0" else spec.name


def _setup_host(host: LabHost, spec: HostSpec, lab_spec: LabSpec) -> None:
    if spec.kind == "dom0":
        dom0.setup_dom0(host, spec, host_name(spec))
        dom0.start_services(host, spec)
    else:
        nodeos.setup_node(host, spec, host_name(spec), compute_vm_record(lab_spec, spec))


def _record_spawn(state: LabState, host: str, pid: int, argv: list[str]) -> None:
    with state.update() as data:
        data.setdefault("processes", []).append(
            {"host": host, "pid": pid, "start": namespaces.start_time(pid), "argv": argv})


def attach(prefix: str, state_dir: str | Path | None = None) -> Lab:
    """The running lab `prefix`, for commands run after `up` returned (CLI exec/status, tests)."""
    require_root()
    directory = state_dir_for(prefix, state_dir)
    state = LabState(directory)
    data = state.read()
    if not is_up(prefix) or data.get("status") != "up":
        raise LabError(f"no lab with prefix {prefix!r} is up (bring one up first)")
    spec = LabSpec.from_dict(data["spec"])
    hosts = {}
    for name, info in data["hosts"].items():
        if not namespaces.alive(info["holder_pid"], info["holder_start"]):
            raise LabError(f"lab {prefix!r} is broken: host {name}'s namespace holder is gone; "
                           f"take it down (down {prefix})")
        host = LabHost(name, info["kind"], info["netns"], info["holder_pid"], directory / "logs" / name)
        host.on_spawn = lambda n, pid, argv: _record_spawn(state, n, pid, argv)
        hosts[name] = host
    return Lab(prefix, directory, spec, hosts)


def down(prefix: str, state_dir: str | Path | None = None) -> None:
    """Kill every process in the lab's namespaces, delete its namespaces (and so its veths, bridges and
    mounts), and drop the hosts' overlay data; logs stay in `<state>/logs/` until the next `up`."""
    require_root()
    directory = state_dir_for(prefix, state_dir)
    state = LabState(directory)
    data = state.read()
    netns_names = sorted(set(data.get("netns", [])) | set(namespaces.list_netns(prefix)))
    net_inodes = {namespaces.ns_inode(namespaces.netns_path(n)) for n in netns_names} - {None}
    mnt_inodes = set()
    tracked = []
    for info in data.get("hosts", {}).values():
        if namespaces.alive(info["holder_pid"], info.get("holder_start")):
            mnt_inodes.add(namespaces.ns_inode(f"/proc/{info['holder_pid']}/ns/mnt"))
            tracked.append(info["holder_pid"])
    for proc in data.get("processes", []):
        if namespaces.alive(proc["pid"], proc.get("start")):
            tracked.append(proc["pid"])
    pids = sorted(set(tracked) | set(namespaces.pids_in(net_inodes, mnt_inodes - {None})))
    namespaces.kill_all(pids)
    for name in netns_names:
        namespaces.remove_netns(name)
    shutil.rmtree(directory / "hosts", ignore_errors=True)
    if state.exists():
        with state.update() as record:
            record.update({"status": "down", "netns": [], "processes": [], "hosts": {}})


def status(prefix: str, state_dir: str | Path | None = None) -> dict[str, Any]:
    """What is running of lab `prefix`: hosts with their namespace and live tracked processes."""
    data = LabState(state_dir_for(prefix, state_dir)).read()
    hosts = []
    for name, info in data.get("hosts", {}).items():
        procs = [{"pid": p["pid"], "argv": p["argv"], "alive": namespaces.alive(p["pid"], p.get("start"))}
                 for p in data.get("processes", []) if p["host"] == name]
        hosts.append({"name": name, "kind": info["kind"], "netns": info["netns"],
                      "netns_present": namespaces.netns_exists(info["netns"]),
                      "holder_alive": namespaces.alive(info["holder_pid"], info.get("holder_start")),
                      "processes": procs})
    return {"prefix": prefix, "status": data.get("status", "down") if is_up(prefix) else "down",
            "namespaces": namespaces.list_netns(prefix), "hosts": hosts}
