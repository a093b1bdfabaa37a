"""The controller tasks against the lab's real Keystone 30 and Glance 33 (issue 6).

One lab for the module: the xs-ha environment's three controllers and one compute (primary node-9; without the shared
fixtures, the default environment's one controller), deployed once. The tests then look through Glance's
own API from a lab host, re-run both controller tasks, make an upload fail with a Glance quota, and drive
the Ceilometer path through the lab's `pcs`.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from lab import delivery, fuellab, nodeos, runtime, verify_openstack
from lab.environment import PLUGIN_SCRIPTS_PATH
from lab.errors import LabError
from lab.openstack import services
from lab.openstack.config import Cloud
from lab.paths import REPO, tooling_python
from lab.verify import astute
from tests.paths import FIXTURES

PREFIX = f"os{secrets.token_hex(2)}"
XS_HA = FIXTURES / "nailgun" / "xs-ha"
NODES = ["primary-controller-node9.yaml", "controller-node10.yaml", "controller-node11.yaml", "compute-node12.yaml"]
PRIMARY_TASK = "python primary_controller_post_deployment.py"
CONTROLLER_TASK = "python controller_post_deployment.py"

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(os.geteuid() != 0, reason="lab tests need root (namespaces, veths, mounts)")]


@pytest.fixture(scope="module")
def cloud_lab(tmp_path_factory) -> Iterator[tuple[Any, Any, Any]]:
    try:
        services.require_venv()
        rpm = delivery.newest_rpm()
    except LabError as error:
        pytest.skip(str(error))
    fixtures = None
    if XS_HA.is_dir():
        fixtures = tmp_path_factory.mktemp("fixtures")
        for name in NODES:
            shutil.copy(XS_HA / name, fixtures)
    lab, fuel = fuellab.up(PREFIX, fixtures, rpm=rpm)
    try:
        yield lab, fuel, fuellab.deploy_plugin(lab, fuel)
    finally:
        runtime.down(PREFIX)
        shutil.rmtree(runtime.state_dir_for(PREFIX), ignore_errors=True)


def controllers(fuel: Any) -> list[Any]:
    return fuel.controllers()


def primary(fuel: Any) -> Any:
    return next(node for node in controllers(fuel) if "primary-controller" in node.roles)


def run_task(host: Any, task: str) -> Any:
    return host.run(["/bin/sh", "-c", f"cd {shlex.quote(PLUGIN_SCRIPTS_PATH)} && {task}"], timeout=300, check=False)


def glance_images(host: Any, *args: str) -> list[dict[str, Any]]:
    """Image records from Glance's API, asked from inside `host` with its /root/openrc."""
    done = host.run([str(tooling_python()), "-m", "lab.openstack.images", *args], env={"PYTHONPATH": str(REPO)},
                    check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["images"]


def shipped_md5(host: Any) -> str:
    return json.loads(host.read_file(verify_openstack.TESTVM_JSON))["md5"]


def snapshot(host: Any) -> dict[str, Any]:
    return {"nova.conf": host.run(["sha256sum", "/etc/nova/nova.conf"]).stdout,
            "services": nodeos.service_calls(host),
            "images": sorted((i["id"], i["status"], i.get("checksum")) for i in glance_images(host, "--all"))}


def test_the_controller_tasks_pass_against_real_services(cloud_lab):
    _, fuel, report = cloud_lab
    ran = {(r.node, r.task): r for r in report.results}
    result = ran[(primary(fuel).name, "xenserver-primary-controller-post-deployment")]
    assert result.status == "ok", result.describe()
    for node in controllers(fuel):
        result = ran[(node.name, "xenserver-controller-post-deployment")]
        assert result.status == "ok", result.describe()


def test_testvm_replaced_in_glance_seen_from_every_controller(cloud_lab):
    lab, fuel, _ = cloud_lab
    md5 = shipped_md5(lab.host(primary(fuel).name))
    for node in controllers(fuel):  # over the management network to the VIP, with each node's openrc
        images = glance_images(lab.host(node.name))
        assert len(images) == 1, images
        image = images[0]
        assert (image["disk_format"], image["container_format"], image["vm_mode"], image["status"],
                image["visibility"], image["checksum"]) == ("vhd", "ovf", "xen", "active", "public", md5)
    every = glance_images(lab.host(primary(fuel).name), "--all")
    assert [i["disk_format"] for i in every] == ["vhd"], "the seeded qcow2 TestVM is still there"


def test_verify_rows_pass(cloud_lab):
    lab, fuel, _ = cloud_lab
    checks = verify_openstack.checks(lab, fuel)
    assert len(checks) == 1 + len(controllers(fuel))
    assert all(check.ok for check in checks), "\n".join(f"{c.name}: {c.measured}" for c in checks)


def test_rerunning_both_controller_tasks_changes_nothing(cloud_lab):
    lab, fuel, _ = cloud_lab
    for node in controllers(fuel):
        host = lab.host(node.name)
        before = snapshot(host)
        tasks = [CONTROLLER_TASK] + ([PRIMARY_TASK] if node.name == primary(fuel).name else [])
        for task in tasks:
            done = run_task(host, task)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "made 0 changes" in done.stdout, done.stdout
        assert snapshot(host) == before


def test_a_refused_upload_leaves_no_half_image_and_says_why(cloud_lab):
    """Two old TestVMs: a dry run lists the replacement and changes nothing; Glance's storage quota refuses
    the new image: the task fails with Glance's words, the old TestVMs stay, nothing half-made is left;
    with the quota lifted, a re-run replaces every copy."""
    lab, fuel, _ = cloud_lab
    host = lab.host(primary(fuel).name)
    cloud = Cloud.from_astute(astute(host))
    plan = cloud.plan(str(services.SEED_IMAGE))
    plan = {key: plan[key] for key in ("auth_url", "region", "services_project", "admin", "image")}
    plan["image"]["always"] = True
    host.run([str(tooling_python()), "-m", "lab.openstack.provision"], input=json.dumps(plan),
             env={"PYTHONPATH": str(REPO)})
    old = sorted(i["id"] for i in glance_images(host))
    assert len(old) == 2
    before = sorted((i["id"], i["status"]) for i in glance_images(host, "--all"))
    dry = run_task(host, f"{PRIMARY_TASK} --dry-run")
    assert dry.returncode == 0 and "would change: Glance's only TestVM is the XenServer image" in dry.stdout, dry.stdout
    assert sorted((i["id"], i["status"]) for i in glance_images(host, "--all")) == before
    services.restart_glance(host, storage_quota="10MB")  # the shipped image (~9 MB) is already stored
    try:
        done = run_task(host, PRIMARY_TASK)
        assert done.returncode != 0, done.stdout
        assert "Glance did not accept the TestVM image" in done.stdout + done.stderr
        assert "exceed" in done.stdout + done.stderr, done.stdout + done.stderr  # Glance's reason
        assert "Traceback" not in done.stdout + done.stderr
        assert sorted((i["id"], i["status"]) for i in glance_images(host, "--all")) == before
    finally:
        services.restart_glance(host)
    done = run_task(host, PRIMARY_TASK)
    assert done.returncode == 0, done.stdout + done.stderr
    images = glance_images(host)
    assert len(images) == 1 and images[0]["id"] not in old and images[0]["disk_format"] == "vhd"


PIPELINE = """---
sources:
- name: meter_source
  interval: 600
  meters: ['*']
  sinks: [meter_sink]
sinks:
- name: meter_sink
  transformers: []
  publishers: ['notifier://']
"""


def test_ceilometer_restart_goes_through_pacemaker(cloud_lab):
    """The node code's Ceilometer step against the lab's pcs: waits for Started resources, restarts the
    central agent by `pcs resource restart` once, and not again when nothing changed."""
    lab, fuel, _ = cloud_lab
    node = primary(fuel)
    host = lab.host(node.name)
    services.install_pcs(host, ceilometer=True, nodes=[node.name])
    host.write_file("/etc/ceilometer/pipeline.yaml", PIPELINE, mode=0o640)
    code = ("import sys; sys.path.insert(0, '.'); from xenserver_plugin import controller, steps; "
            "run = steps.Run(dry_run=False); controller.ensure_ceilometer(run, True); print(len(run.changes))")
    try:
        first = run_task(host, f"python -c {shlex.quote(code)}")
        second = run_task(host, f"python -c {shlex.quote(code)}")
        restarts = [c for c in nodeos.service_calls(host) if c.tool == "pcs"]
        pipeline = host.read_file("/etc/ceilometer/pipeline.yaml")
    finally:
        services.install_pcs(host, ceilometer=False, nodes=[node.name])
        host.run(["rm", "-f", "/etc/ceilometer/pipeline.yaml"])
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.split()[-1] == "2" and second.stdout.split()[-1] == "0", (first.stdout, second.stdout)
    assert [(c.name, c.action) for c in restarts] == [("p_ceilometer-agent-central", "restart")]
    assert "'!network.services.*'" in pipeline or "!network.services.*" in pipeline, pipeline
