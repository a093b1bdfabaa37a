"""One lab host: a network namespace plus a mount namespace (overlays) kept alive by a holder process.

Commands enter both with nsenter; they run as root with a clean environment, as on a freshly booted node.
"""
from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab import namespaces
from lab.errors import LabError

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Namespaces cannot isolate these; a command in a host never gets them (clock, kernel modules, reboot).
DROPPED_CAPS = "-sys_time,-sys_module,-sys_boot"


class HostCommandError(subprocess.CalledProcessError):
    """A command in a lab host failed; str() names the host, the command, its exit code and its stderr."""

    def __init__(self, host: str, result: subprocess.CompletedProcess):
        super().__init__(result.returncode, result.args, result.stdout, result.stderr)
        self.host = host

    def __str__(self) -> str:
        err = (self.stderr or self.stdout or "").strip()
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        tail = err[-800:]
        return f"[{self.host}] {shlex.join(map(str, self.cmd))} exited {self.returncode}: {tail}"


@dataclass
class LabHost:
    name: str
    kind: str
    netns: str
    holder_pid: int
    log_dir: Path
    # called with (host name, pid, argv) for every spawned process so the lab can stop it on down
    on_spawn: Callable[[str, int, list[str]], None] = field(default=lambda host, pid, argv: None, repr=False)

    def enter_argv(self, cwd: str | None = None) -> list[str]:
        """Prefix entering this host's network, mount and UTS namespaces, without the machine-wide capabilities."""
        argv = ["nsenter", "-t", str(self.holder_pid), "--net", "--mount", "--uts"]
        if cwd:
            argv.append(f"--wd={cwd}")
        return [*argv, "--", "setpriv", f"--bounding-set={DROPPED_CAPS}", "--"]

    @staticmethod
    def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": HOST_PATH, "HOME": "/root", "LANG": "C.UTF-8", "USER": "root", "LOGNAME": "root",
               "SHELL": "/bin/bash", "TERM": "dumb"}
        env.update(extra or {})
        return env

    def run(self, argv: Sequence[str], input: str | bytes | None = None, timeout: float = 120,
            check: bool = True, env: Mapping[str, str] | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess:
        """Run `argv` in the host as root; text in and out unless `input` is bytes."""
        text = not isinstance(input, bytes)
        result = subprocess.run([*self.enter_argv(cwd), *argv], input=input, capture_output=True, text=text,
                                timeout=timeout, env=self.environment(env), check=False)
        result.args = list(argv)
        if check and result.returncode != 0:
            raise HostCommandError(self.name, result)
        return result

    def call(self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None,
             timeout: float | None = None) -> int:
        """Run `argv` in the host with this process's stdin/stdout/stderr (for people: `exec HOST -- CMD`)."""
        return subprocess.call([*self.enter_argv(cwd), *argv], env=self.environment(env), timeout=timeout)

    def sh(self, script: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run a shell script (arguments as $1...; never interpolate values into `script`)."""
        return self.run(["/bin/sh", "-c", script, "sh", *args], **kwargs)

    def spawn(self, argv: Sequence[str], log_path: str | Path | None = None,
              env: Mapping[str, str] | None = None, cwd: str | None = None) -> int:
        """Start a long-running process in the host; its output goes to `log_path` (a path on this machine,
        default `<lab state>/logs/<host>/<program>.log`). The PID is tracked and killed on down."""
        log = Path(log_path) if log_path else self.log_dir / f"{Path(argv[0]).name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen([*self.enter_argv(cwd), *argv], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=self.environment(env), start_new_session=True)
        self.on_spawn(self.name, proc.pid, list(argv))
        return proc.pid

    def processes(self) -> list[tuple[int, list[str]]]:
        """(PID, argv) of every process running in this host, e.g. to stop Dom0's sshd for a failure test."""
        found = []
        for pid in namespaces.pids_in({self._net_inode()}, set()):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            except OSError:
                continue
            found.append((pid, [a.decode(errors="replace") for a in argv]))
        return found

    def kill(self, pid: int, sig: int = signal.SIGTERM) -> None:
        """Signal a process of this host (refused for any process outside it)."""
        if namespaces.ns_inode(f"/proc/{pid}/ns/net") != self._net_inode():
            raise ValueError(f"PID {pid} is not a process of lab host {self.name}")
        os.kill(pid, sig)

    def _net_inode(self) -> int | None:
        return namespaces.ns_inode(namespaces.netns_path(self.netns))

    def write_file(self, path: str, data: str | bytes, mode: int = 0o644) -> None:
        """Write a file as the host sees it (it lands in the host's overlay), creating its directory."""
        payload = data.encode() if isinstance(data, str) else data
        script = ('mkdir -p "$(dirname "$1")" && cat > "$1.lab-tmp" && chmod "$2" "$1.lab-tmp"'
                  ' && mv -f "$1.lab-tmp" "$1"')
        self.sh(script, path, format(mode, "o"), input=payload)

    def write_files(self, files: Mapping[str, str | bytes | tuple[str | bytes, int]]) -> None:
        """Write several files in one go ({path: data} or {path: (data, mode)}; mode 0644 by default)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, item in files.items():
                data, mode = item if isinstance(item, tuple) else (item, 0o644)
                payload = data.encode() if isinstance(data, str) else data
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mode, info.mtime = len(payload), mode, int(time.time())
                tar.addfile(info, io.BytesIO(payload))
        self.run(["tar", "-x", "-C", "/", "--no-overwrite-dir"], input=buffer.getvalue())

    def read_file(self, path: str) -> str:
        return self.run(["cat", "--", path]).stdout

    def exists(self, path: str) -> bool:
        return self.run(["test", "-e", path], check=False).returncode == 0

    def proc_net(self, name: str) -> str:
        """/proc/net/<name> of this host's network namespace, read without entering it."""
        return Path(f"/proc/{self.holder_pid}/net/{name}").read_text()

    def listening(self, port: int, proto: str = "tcp") -> bool:
        """A socket bound to `port` in this host (TCP: in LISTEN state)."""
        want = f":{port:04X}"
        for table in (proto, f"{proto}6"):
            for line in self.proc_net(table).splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(want) and (proto != "tcp" or fields[3] == "0A"):
                    return True
        return False

    def wait_listening(self, ports: int | Sequence[int], what: str, timeout: float, proto: str = "tcp",
                       processes: Mapping[int, Path] | None = None) -> None:
        """Wait until `what` listens on each of `ports` in this host, all within `timeout` seconds.

        processes: PID -> its log (a path on this machine) of what was spawned to listen; when one of them
        exits first the wait fails at once. The error shows the tail of the logs (else names log_dir)."""
        deadline = time.monotonic() + timeout
        watched = dict(processes or {})
        for port in [ports] if isinstance(ports, int) else ports:
            while not self.listening(port, proto):
                exited = [pid for pid in watched if not namespaces.alive(pid)]
                if exited or time.monotonic() > deadline:
                    why = "exited" if exited else f"did not listen on {proto}/{port} within {timeout:.0f}s"
                    logs = [watched[pid] for pid in exited] or list(watched.values())
                    raise LabError(f"{self.name}: {what} {why}; " + _log_tails(logs, self.log_dir))
                time.sleep(0.05)


def _log_tails(logs: Sequence[Path], log_dir: Path) -> str:
    if not logs:
        return f"see the logs in {log_dir}"
    tails = []
    for log in logs:
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
        tails.append(f"log {log}:\n{tail}")
    return "\n".join(tails)


def os_is_root() -> bool:
    return os.geteuid() == 0
