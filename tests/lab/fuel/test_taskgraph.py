"""The plugin's deployment_tasks.yaml in Fuel's graph: stages and order per role (no lab needed)."""
import re

import pytest
import yaml

from lab.taskgraph import FUEL_TASKS, GraphError, build_graph, plugin_tasks
from tests.paths import REFERENCE, REPO


@pytest.fixture(scope="module")
def graph():
    return build_graph(plugin_tasks(yaml.safe_load((REPO / "plugin" / "deployment_tasks.yaml").read_text())))


def ids(tasks):
    return [t.id for t in tasks]


def test_no_dependency_of_the_plugin_is_dropped(graph):
    assert graph.dropped == []


def test_compute_pre_test_after_netconfig_before_nova(graph):
    plan = graph.node_plan(["compute"])
    deploy = ids(plan["deploy"])
    assert deploy.index("netconfig") < deploy.index("xenserver-compute-pre-test") < deploy.index("top-role-compute")
    assert ids(t for t in plan["post_deployment"] if t.plugin) == ["xenserver-compute-post-deployment"]
    assert not any(t.plugin for t in plan["pre_deployment"])


def test_primary_controller_tasks_in_order(graph):
    post = ids(t for t in graph.node_plan(["primary-controller"])["post_deployment"] if t.plugin)
    assert post == ["xenserver-controller-post-deployment", "xenserver-primary-controller-post-deployment"]
    assert ids(t for t in graph.node_plan(["controller"])["post_deployment"] if t.plugin) == [
        "xenserver-controller-post-deployment"]


def test_cinder_node_runs_no_plugin_task(graph):
    assert not any(t.plugin for tasks in graph.node_plan(["cinder"]).values() for t in tasks)


def test_unordered_task_and_cycle_are_refused():
    with pytest.raises(GraphError, match="not placed in any stage"):
        build_graph(plugin_tasks([{"id": "x", "type": "shell", "role": ["compute"], "requires": ["nowhere"]}]))
    with pytest.raises(GraphError, match="cycle"):
        build_graph(plugin_tasks([
            {"id": "a", "type": "shell", "role": "*", "requires": ["post_deployment_start", "b"]},
            {"id": "b", "type": "shell", "role": "*", "requires": ["a"]}]))


def test_unknown_ids_are_dropped_as_nailgun_does():
    graph = build_graph(plugin_tasks([{"id": "x", "type": "shell", "role": ["compute"],
                                       "requires": ["netconfig", "network_configuration_end"]}]))
    assert graph.dropped == [("x", "network_configuration_end")]


def test_fuel_skeleton_matches_the_fuel_9_graph():
    """Every ordering the skeleton states (a before b) holds in the real Fuel 9.0 graph, directly or through others."""
    table = REFERENCE / "task-ids.txt"
    if not table.is_file():
        pytest.skip(f"{table} not available")
    after: dict[str, set[str]] = {}
    row = re.compile(r"^   (\S+)\s+\S+\s+\S+\s+\S+\s+roles/groups=\S* \| requires=(\S*) \| required_for=(\S*)")
    for line in table.read_text().splitlines():
        match = row.match(line)
        if not match:
            continue
        task, requires, required_for = match.group(1), match.group(2), match.group(3)
        for before in filter(lambda x: x not in ("", "-"), requires.split(",")):
            after.setdefault(before, set()).add(task)
        after.setdefault(task, set()).update(x for x in required_for.split(",") if x not in ("", "-"))

    def precedes(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            for nxt in after.get(todo.pop(), ()):
                if nxt == b:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    for task_id, (_, _, requires, required_for) in FUEL_TASKS.items():
        assert task_id in after, f"{task_id} is not a Fuel 9.0 task"
        for before in requires:
            assert precedes(before, task_id), f"{before} -> {task_id} does not hold in Fuel 9.0"
        for later in required_for:
            assert precedes(task_id, later), f"{task_id} -> {later} does not hold in Fuel 9.0"
