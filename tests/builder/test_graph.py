"""deployment_tasks.yaml fits the Fuel 9.0 graph: every reference exists and the order is the intended one."""
import re
from pathlib import Path

import pytest
import yaml

from tests.paths import REFERENCE, REPO

TASKS = yaml.safe_load((REPO / "plugin" / "deployment_tasks.yaml").read_text())
OURS = {task["id"]: task for task in TASKS}


def fuel_90_task_ids(reference: Path = REFERENCE / "task-ids.txt") -> set[str]:
    """Task ids of the Fuel 9.0 tag, from the reference table (rows marked in_9.0_tag=yes)."""
    ids = set()
    for line in reference.read_text().splitlines():
        match = re.match(r"^ {3}(\S+)\s.*\bin_9\.0_tag=yes", line)
        if match:
            ids.add(match.group(1))
    return ids


@pytest.fixture(scope="module")
def fuel_ids() -> set[str]:
    ids = fuel_90_task_ids()
    assert {"netconfig", "top-role-compute", "post_deployment_start", "upload_cirros"} <= ids
    assert len(ids) > 150
    return ids


def references(task: dict) -> list[str]:
    return [*task.get("requires", []), *task.get("required_for", [])]


def test_every_reference_is_a_fuel_90_task_or_ours(fuel_ids):
    unknown = {name for task in TASKS for name in references(task)} - fuel_ids - OURS.keys()
    assert not unknown


def test_network_configuration_end_is_not_used():
    """It does not exist in Fuel 9.x: task-based deployment silently drops it."""
    assert all("network_configuration_end" not in references(task) for task in TASKS)


def test_pre_test_runs_after_netconfig_and_before_nova():
    task = OURS["xenserver-compute-pre-test"]
    assert task["role"] == ["compute"]
    assert "netconfig" in task["requires"]
    assert "top-role-compute" in task["required_for"]


@pytest.mark.parametrize("task_id", ["xenserver-compute-post-deployment", "xenserver-controller-post-deployment",
                                     "xenserver-primary-controller-post-deployment"])
def test_post_deployment_tasks_sit_in_the_post_deployment_stage(task_id):
    task = OURS[task_id]
    assert "post_deployment_start" in task["requires"]
    assert task["required_for"] == ["post_deployment_end"]


def test_testvm_task_runs_last_on_the_primary_controller():
    task = OURS["xenserver-primary-controller-post-deployment"]
    assert task["role"] == ["primary-controller"]
    assert {"upload_cirros", "xenserver-controller-post-deployment"} <= set(task["requires"])


def test_every_task_is_a_timed_shell_task_with_an_existing_script():
    for task in TASKS:
        assert task["type"] == "shell" and task["version"] == "2.0.0"
        assert 0 < task["parameters"]["timeout"] <= 3600
        script = task["parameters"]["cmd"].split()[-1]
        assert (REPO / "plugin" / "deployment_scripts" / script).is_file(), script
