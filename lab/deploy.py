"""Run the plugin's tasks on the lab's nodes the way Astute runs a task-based deployment.

Stage by stage (pre_deployment, deploy, post_deployment), every node at once; on each node its tasks in
graph order. A `shell` task runs as root through a shell in the plugin's directory with the task's timeout.
A failing task stops its node (its later tasks are skipped); the report keeps its output and log tail.
Fuel's own tasks do nothing, except those whose files the plugin edits (lab/fuelfiles.py).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from lab import fuelfiles
from lab.environment import PLUGIN_SCRIPTS_PATH
from lab.taskgraph import STAGES, Graph, Task

LOG_DIR = "/var/log/fuel-plugin-xenserver"
LOG_TAIL_LINES = 20


class Host(Protocol):
    def run(self, argv: list[str], input: bytes | str | None = None, timeout: float = ..., check: bool = ...
            ) -> subprocess.CompletedProcess[Any]: ...

    def read_file(self, path: str) -> str: ...


@dataclass
class TaskResult:
    node: str
    task: str
    stage: str
    status: str  # ok | failed | timeout | skipped | noop
    seconds: float = 0.0
    exit_code: int | None = None
    output: str = ""
    log_tail: str = ""

    def describe(self) -> str:
        lines = [f"{self.node}: {self.task} {self.status.upper()} (exit {self.exit_code}, {self.seconds:.1f}s)"]
        if self.output.strip():
            lines += ["  output:"] + [f"    {line}" for line in self.output.rstrip().splitlines()[-LOG_TAIL_LINES:]]
        if self.log_tail.strip():
            lines += ["  log tail:"] + [f"    {line}" for line in self.log_tail.rstrip().splitlines()]
        return "\n".join(lines)


@dataclass
class Report:
    results: list[TaskResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "noop") for r in self.results)

    @property
    def failures(self) -> list[TaskResult]:
        return [r for r in self.results if r.status in ("failed", "timeout")]

    def ran(self) -> list[TaskResult]:
        return [r for r in self.results if r.status != "noop"]

    def summary(self) -> str:
        lines = [f"{'node':<10} {'stage':<16} {'task':<46} {'result':<8} {'time':>6}"]
        for r in self.ran():
            lines.append(f"{r.node:<10} {r.stage:<16} {r.task:<46} {r.status:<8} {r.seconds:>5.1f}s")
        for failure in self.failures:
            lines.append(failure.describe())
        lines.append(f"deployment {'succeeded' if self.ok else 'FAILED'} in {self.seconds:.1f}s")
        return "\n".join(lines)


def deploy(graph: Graph, nodes: dict[str, list[str]], hosts: dict[str, Host],
           progress: Any = None) -> Report:
    """nodes: lab host name -> its Fuel roles; hosts: lab host name -> a host to run commands on."""
    report = Report()
    started = time.monotonic()
    stopped: set[str] = set()
    plans = {name: graph.node_plan(roles) for name, roles in nodes.items()}
    for stage in STAGES:
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            futures = {name: pool.submit(_run_node_stage, name, stage, plans[name][stage], hosts[name],
                                         name in stopped, progress)
                       for name in nodes}
            for name, future in futures.items():
                results = future.result()
                report.results.extend(results)
                if any(r.status in ("failed", "timeout") for r in results):
                    stopped.add(name)
    report.seconds = time.monotonic() - started
    return report


def _run_node_stage(node: str, stage: str, tasks: list[Task], host: Host, stopped: bool,
                    progress: Any) -> list[TaskResult]:
    results = []
    astute: dict[str, Any] | None = None
    for task in tasks:
        if not task.plugin:
            written: list[str] = []
            if task.id in fuelfiles.EFFECTS and not stopped:
                astute = astute if astute is not None else yaml.safe_load(host.read_file("/etc/astute.yaml"))
                written = fuelfiles.apply(task.id, host, astute)
            results.append(TaskResult(node, task.id, stage, "noop", output="\n".join(written)))
            continue
        if stopped:
            results.append(TaskResult(node, task.id, stage, "skipped"))
            continue
        result = run_task(node, stage, task, host)
        if progress:
            progress(result)
        results.append(result)
        stopped = result.status != "ok"
    return results


def run_task(node: str, stage: str, task: Task, host: Host) -> TaskResult:
    """One plugin task on one node, as Astute runs it: `cd <plugin dir> && <cmd>` through a shell as root."""
    if task.type != "shell":
        return TaskResult(node, task.id, stage, "failed", output=f"task type {task.type!r} is not supported by the lab")
    started = time.monotonic()
    script = f"cd {shlex.quote(PLUGIN_SCRIPTS_PATH)} && {task.cmd}"
    try:
        done = host.run(["/bin/sh", "-c", script], timeout=task.timeout, check=False)
        status, code, output = ("ok" if done.returncode == 0 else "failed"), done.returncode, _text(done.stdout) + \
            _text(done.stderr)
    except subprocess.TimeoutExpired as expired:
        status, code = "timeout", None
        output = _text(expired.stdout) + _text(expired.stderr) + f"\n(timed out after {task.timeout}s)"
    seconds = time.monotonic() - started
    tail = "" if status == "ok" else _log_tail(host, task)
    return TaskResult(node, task.id, stage, status, seconds, code, output, tail)


def log_name(task: Task) -> str:
    """The task's log: the runner logs to <script name>.log (python compute_pre_test.py -> compute_pre_test.log)."""
    script = re.search(r"([\w.-]+)\.py\b", task.cmd)
    return f"{script.group(1)}.log" if script else f"{task.id}.log"


def _log_tail(host: Host, task: Task) -> str:
    path = f"{LOG_DIR}/{log_name(task)}"
    done = host.run(["tail", "-n", str(LOG_TAIL_LINES), path], check=False)
    return _text(done.stdout) if done.returncode == 0 else f"(no log at {path})"


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
