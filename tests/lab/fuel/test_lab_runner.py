"""The deployment runner against real lab nodes: how Astute runs a shell task, and how a failure looks."""
from pathlib import Path

import pytest

from lab import fuellab
from lab.deploy import deploy, run_task
from lab.taskgraph import Task, build_graph, plugin_tasks
from tests.lab.fuel.conftest import needs_root

pytestmark = [pytest.mark.lab, needs_root]
SCRIPTS = "/etc/fuel/plugins/fuel-plugin-xenserver-4.0/"


def shell(task_id, cmd, timeout=30, **extra):
    return Task(id=task_id, type="shell", roles=["compute"], parameters={"cmd": cmd, "timeout": timeout},
                plugin=True, **extra)


def test_task_runs_as_root_in_the_plugin_dir_through_a_shell(small_lab):
    lab, _ = small_lab
    result = run_task("node-12", "deploy", shell("t", "pwd; id -u; echo $((6*7))"), lab.host("node-12"))
    assert result.status == "ok", result.describe()
    assert result.output.split() == [SCRIPTS.rstrip("/"), "0", "42"]


def test_failing_task_reports_output_and_log_tail(small_lab):
    lab, _ = small_lab
    host = lab.host("node-12")
    host.write_file("/var/log/fuel-plugin-xenserver/broken_task.log", "line 1\nthe cause is here\n")
    result = run_task("node-12", "deploy", shell("t", "echo trying; python broken_task.py; exit 3"), host)
    assert (result.status, result.exit_code) == ("failed", 3)
    text = result.describe()
    assert "trying" in text and "the cause is here" in text


def test_timeout_is_the_tasks_own(small_lab):
    lab, _ = small_lab
    result = run_task("node-12", "deploy", shell("t", "sleep 20", timeout=1), lab.host("node-12"))
    assert result.status == "timeout" and result.seconds < 10


def test_failure_stops_that_node_only(small_lab):
    lab, _ = small_lab
    graph = build_graph(plugin_tasks([
        {"id": "a-pre", "type": "shell", "role": ["compute"], "requires": ["netconfig"],
         "required_for": ["top-role-compute"], "parameters": {"cmd": "exit 1", "timeout": 10}},
        {"id": "a-post", "type": "shell", "role": ["compute"], "requires": ["post_deployment_start"],
         "parameters": {"cmd": "true", "timeout": 10}},
        {"id": "c-post", "type": "shell", "role": ["primary-controller"], "requires": ["post_deployment_start"],
         "parameters": {"cmd": "touch /tmp/c-post-ran", "timeout": 10}}]))
    nodes = {"node-12": ["compute"], "node-9": ["primary-controller"]}
    report = deploy(graph, nodes, {name: lab.host(name) for name in nodes})
    status = {(r.node, r.task): r.status for r in report.ran()}
    assert status == {("node-12", "a-pre"): "failed", ("node-12", "a-post"): "skipped", ("node-9", "c-post"): "ok"}
    assert not report.ok and "a-pre FAILED" in report.summary()
    assert lab.host("node-9").exists("/tmp/c-post-ran")


def test_scripts_resynced_like_plugins_rsync(small_lab):
    lab, fuel = small_lab
    host = lab.host("node-12")
    host.write_file(SCRIPTS + "dropped_by_the_new_build.py", "")
    plugin = fuellab.prepare_plugin(Path(fuel.rpm))
    fuellab.sync_scripts(lab, plugin, ["node-12"])
    assert not host.exists(SCRIPTS + "dropped_by_the_new_build.py")
    assert host.exists(SCRIPTS + "compute_pre_test.py")
