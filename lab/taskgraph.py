"""The deployment graph as Nailgun builds it for a node: Fuel 9.0's own tasks plus the plugin's, in order.

Fuel's tasks are no-ops in the lab (only their place in the graph matters: `netconfig` is where the lab has
already configured the node's networks). The Fuel 9.0 part is the skeleton the plugin can refer to, taken
from the Fuel 9.0 graph (a test checks it against the reference task table): the stage anchors and the
chain every node walks through, with the role-specific tasks our plugin names.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import Any

STAGES = ("pre_deployment", "deploy", "post_deployment")
NODE_ROLES = ["primary-controller", "controller", "cinder", "cinder-block-device", "cinder-vmware", "compute",
              "ceph-osd", "primary-mongo", "mongo", "virt", "ironic", "primary-rabbitmq", "rabbitmq",
              "primary-database", "database", "primary-keystone", "keystone", "primary-neutron", "neutron"]
ANY = ["*"]

# id: (type, roles, requires, required_for) — Fuel 9.0 (fuel-library), see ../shared/reference/task-ids.txt.
FUEL_TASKS: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "pre_deployment_start": ("stage", ANY, [], []),
    "pre_deployment_end": ("stage", ANY, ["pre_deployment_start"], []),
    "deploy_start": ("stage", ANY, ["pre_deployment_end"], []),
    "deploy_end": ("stage", ANY, ["deploy_start"], []),
    "post_deployment_start": ("stage", ANY, ["deploy_end"], []),
    "post_deployment_end": ("stage", ANY, ["post_deployment_start"], []),
    "hiera": ("puppet", NODE_ROLES, ["deploy_start", "rsync_core_puppet"], ["deploy_end"]),
    "rsync_core_puppet": ("sync", ANY, [], ["pre_deployment_start"]),
    "setup_repositories": ("puppet", ANY, ["hiera"], ["fuel_pkgs"]),
    "fuel_pkgs": ("puppet", NODE_ROLES, ["setup_repositories"], ["deploy_end"]),
    "globals": ("puppet", NODE_ROLES, ["hiera"], ["deploy_end"]),
    "logging": ("puppet", NODE_ROLES, ["globals", "setup_repositories"], ["deploy_end"]),
    "tools": ("puppet", NODE_ROLES, ["logging"], ["deploy_end"]),
    "netconfig": ("puppet", NODE_ROLES, ["tools"], ["deploy_end"]),
    "connectivity_tests": ("puppet", NODE_ROLES, ["netconfig"], ["firewall", "hosts"]),
    "firewall": ("puppet", NODE_ROLES, ["netconfig"], ["deploy_end"]),
    "hosts": ("puppet", NODE_ROLES, ["netconfig"], ["deploy_end"]),
    "top-role-compute": ("puppet", ["compute"], ["hosts", "firewall"], ["enable_nova_compute_service"]),
    "enable_nova_compute_service": ("puppet", ["compute", "compute-vmware"], ["top-role-compute"], ["deploy_end"]),
    "top-role-cinder": ("puppet", ["cinder", "cinder-block-device", "cinder-vmware"], ["hosts", "firewall"],
                        ["deploy_end"]),
    "primary-openstack-controller": ("puppet", ["primary-controller"], ["hosts", "firewall"], ["deploy_end"]),
    "openstack-controller": ("puppet", ["controller"], ["hosts", "firewall"], ["deploy_end"]),
    "upload_nodes_info": ("skipped", ANY, ["post_deployment_start"], []),
    "update_hosts": ("puppet", ANY, ["upload_nodes_info"], ["post_deployment_end"]),
    "enable_quorum": ("puppet", ["primary-controller"], ["post_deployment_start"], ["post_deployment_end"]),
    "upload_cirros": ("puppet", ["primary-keystone", "primary-controller"], ["enable_quorum"],
                      ["post_deployment_end"]),
}


class GraphError(ValueError):
    """The plugin's tasks cannot be ordered (unknown stage, cycle, bad task)."""


@dataclass
class Task:
    id: str
    type: str
    roles: list[str]
    requires: list[str] = field(default_factory=list)
    required_for: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    plugin: bool = False

    def runs_on(self, roles: list[str]) -> bool:
        return "*" in self.roles or any(role in self.roles for role in roles)

    @property
    def cmd(self) -> str:
        return str(self.parameters.get("cmd", ""))

    @property
    def timeout(self) -> int:
        return int(self.parameters.get("timeout", 300))


def plugin_tasks(data: object) -> list[Task]:
    """Tasks of a plugin's deployment_tasks.yaml (version 2.x task format)."""
    if not isinstance(data, list):
        raise GraphError("deployment_tasks.yaml is not a list of tasks")
    tasks = []
    for item in data:
        if not isinstance(item, dict) or "id" not in item or "type" not in item:
            raise GraphError(f"deployment_tasks.yaml: a task without id or type: {item!r}")
        roles = item.get("role", item.get("roles", item.get("groups", item.get("tags", []))))
        roles = ANY if roles in ("*", ["*"]) else ([roles] if isinstance(roles, str) else list(roles or []))
        tasks.append(Task(id=str(item["id"]), type=str(item["type"]), roles=roles,
                          requires=list(item.get("requires") or []),
                          required_for=list(item.get("required_for") or []),
                          parameters=dict(item.get("parameters") or {}), plugin=True))
    return tasks


@dataclass
class Graph:
    tasks: dict[str, Task]
    order: list[str]
    stage_of: dict[str, str]
    dropped: list[tuple[str, str]]  # (task, unknown id) — Nailgun's task-based deployment drops these silently

    def node_plan(self, roles: list[str]) -> dict[str, list[Task]]:
        """The tasks one node runs, by stage, in graph order (stage anchors left out)."""
        plan: dict[str, list[Task]] = {stage: [] for stage in STAGES}
        for task_id in self.order:
            task = self.tasks[task_id]
            if task.type in ("stage", "group") or not task.runs_on(roles):
                continue
            plan[self.stage_of[task_id]].append(task)
        return plan


def build_graph(plugin: list[Task]) -> Graph:
    tasks = {tid: Task(id=tid, type=t, roles=r, requires=list(req), required_for=list(rf))
             for tid, (t, r, req, rf) in FUEL_TASKS.items()}
    for task in plugin:
        if task.id in tasks:
            raise GraphError(f"plugin task id {task.id} clashes with a task of Fuel or of the plugin")
        tasks[task.id] = task
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    dropped = []
    predecessors: dict[str, set[str]] = {tid: set() for tid in tasks}
    for task in tasks.values():
        sorter.add(task.id)
        for before in task.requires:
            if before not in tasks:
                dropped.append((task.id, before))
                continue
            sorter.add(task.id, before)
            predecessors[task.id].add(before)
        for after in task.required_for:
            if after not in tasks:
                dropped.append((task.id, after))
                continue
            sorter.add(after, task.id)
            predecessors[after].add(task.id)
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as error:
        raise GraphError(f"the tasks form a cycle: {' -> '.join(error.args[1])}") from None
    ancestors: dict[str, set[str]] = {}
    for tid in order:  # predecessors come first in a topological order
        found: set[str] = set()
        for before in predecessors[tid]:
            found |= {before} | ancestors[before]
        ancestors[tid] = found
    stage_of = {}
    for tid in order:
        task = tasks[tid]
        stage = _stage(tid, ancestors[tid])
        if stage is None:
            if task.plugin:
                raise GraphError(f"plugin task {tid} is not placed in any stage: it must require a stage anchor "
                                 "(e.g. post_deployment_start) or a Fuel task inside one (e.g. netconfig)")
            stage = "pre_deployment"
        stage_of[tid] = stage
    return Graph(tasks=tasks, order=order, stage_of=stage_of, dropped=dropped)


def _stage(task_id: str, ancestors: set[str]) -> str | None:
    for stage in reversed(STAGES):
        start = f"{stage}_start"
        if task_id == start or start in ancestors:
            return stage
    return None
