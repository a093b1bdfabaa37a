"""Start real Keystone, Glance and memcached in lab hosts (tooling side).

The OpenStack venv (.work/venv-openstack, `make openstack-venv`) is built once. Its empty, migrated
databases and the old TestVM's qcow2 are made once into `<venv>/lab-cache/` (`python -m
lab.openstack.services prepare`, or the first `up`), so a lab's services start in seconds: copy the schemas,
fresh Fernet keys, spawn both servers (Keystone bootstraps itself first), provision over the API.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.openstack import config
from lab.openstack.config import Cloud
from lab.paths import REPO, WORK, tooling_python

VENV = WORK / "venv-openstack"
PYTHON = VENV / "bin" / "python"
CACHE = VENV / "lab-cache"
REQUIREMENTS = REPO / "requirements" / "openstack.txt"
PASTE_INI = VENV / "etc" / "glance" / "glance-api-paste.ini"
SEED_IMAGE = CACHE / "cirros.qcow2"
PCS = Path(__file__).resolve().parent / "pcs"
START_TIMEOUT = 30.0
KEYSTONE_MANAGE = "from keystone.cmd.manage import main; main()"  # the venv may lack keystone-manage
GLANCE_MANAGE = "import sys; from glance.cmd.manage import main; sys.exit(main())"
BUILD_HINT = (f"build it with `make openstack-venv` (= python3.11 -m venv {VENV.relative_to(REPO)} && "
              f"{VENV.relative_to(REPO)}/bin/pip install -r requirements/openstack.txt, ~2-4 min, once)")


def require_venv() -> None:
    if not (PYTHON.exists() and PASTE_INI.exists()):
        raise LabError(f"the lab's controllers run real Keystone and Glance from {VENV}, which is missing: "
                       f"{BUILD_HINT}")


def prepare() -> Path:
    """The migrated empty databases and the seed qcow2 in CACHE (made once; safe from parallel labs)."""
    require_venv()
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name, manage in (("keystone", KEYSTONE_MANAGE), ("glance", GLANCE_MANAGE)):
            target = CACHE / f"{name}.sqlite"
            if target.exists():
                continue
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                db, conf = Path(tmp) / target.name, Path(tmp) / f"{name}.conf"
                conf.write_text(f"[database]\nconnection = sqlite:///{db}\n")
                done = subprocess.run([str(PYTHON), "-c", manage, "--config-file", str(conf), "db_sync"],
                                      capture_output=True, text=True, cwd=tmp)
                if done.returncode != 0:
                    raise LabError(f"{name} db_sync failed: {done.stderr.strip()[-800:]}")
                db.rename(target)
        if not SEED_IMAGE.exists():
            tmp_image = SEED_IMAGE.with_suffix(".tmp")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_image), "1M"], check=True)
            tmp_image.rename(SEED_IMAGE)
    return CACHE


def start_memcached(host: Any, address: str) -> None:
    """memcached on a controller's mgmt/memcache address, as Fuel's memcached task runs it."""
    host.spawn(["memcached", "-u", "memcache", "-l", address, "-p", str(config.MEMCACHED_PORT), "-U", "0",
                "-m", "16"], host.log_dir / "memcached.log")


def key_repository(directory: str) -> dict[str, tuple[str, int]]:
    """A fresh Fernet key repository as keystone-manage fernet_setup/credential_setup make it (keys 0 and 1)."""
    return {f"{directory}/{index}": (base64.urlsafe_b64encode(os.urandom(32)).decode(), 0o600) for index in (0, 1)}


def start_cloud(host: Any, cloud: Cloud) -> dict[str, Any]:
    """Keystone and Glance on the primary controller: configured, bootstrapped, serving, provisioned."""
    prepare()
    host.run(["mkdir", "-p", "/var/lib/keystone", "/var/log/glance",
              *(f"{config.GLANCE_DATA}/{d}" for d in ("images", "staging", "tasks"))])
    host.write_files({config.KEYSTONE_CONF: (cloud.keystone_conf(), 0o640),
                      config.GLANCE_CONF: (cloud.glance_conf(PASTE_INI), 0o640),
                      **key_repository("/etc/keystone/fernet-keys"),
                      **key_repository("/etc/keystone/credential-keys")})
    host.run(["chmod", "700", "/etc/keystone/fernet-keys", "/etc/keystone/credential-keys"])
    host.run(["cp", str(CACHE / "keystone.sqlite"), config.KEYSTONE_DB])
    host.run(["cp", str(CACHE / "glance.sqlite"), config.GLANCE_DB])
    glance = spawn_glance(host)
    keystone_log = host.log_dir / "keystone.log"
    keystone = host.spawn([str(PYTHON), "-m", "lab.openstack.serve", "keystone",
                           *(f"0.0.0.0:{port}" for port in config.KEYSTONE_PORTS)], keystone_log,
                          env={"PYTHONPATH": str(REPO), "OS_KEYSTONE_CONFIG_FILES": config.KEYSTONE_CONF,
                               **cloud.bootstrap_env()})
    host.wait_listening([*config.KEYSTONE_PORTS, config.GLANCE_PORT], "Keystone/Glance", START_TIMEOUT,
                        processes={keystone: keystone_log, glance: glance_log(host)})
    return provision(host, cloud)


def glance_log(host: Any) -> Path:
    return host.log_dir / "glance-api.log"


def spawn_glance(host: Any) -> int:
    return host.spawn([str(PYTHON), "-m", "lab.openstack.serve", "glance", f"0.0.0.0:{config.GLANCE_PORT}"],
                      glance_log(host), env={"PYTHONPATH": str(REPO), "OS_GLANCE_CONFIG_DIR": config.GLANCE_DIR})


def glance_pids(host: Any) -> list[int]:
    return [pid for pid, argv in host.processes() if argv[-2:-1] == ["glance"] and "lab.openstack.serve" in argv]


def restart_glance(host: Any, storage_quota: str | None = None) -> None:
    """Glance restarted with (or without) a per-user storage quota, e.g. for a failure test."""
    for pid in glance_pids(host):
        host.kill(pid)
    deadline = time.monotonic() + 10
    while host.listening(config.GLANCE_PORT) and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [line for line in host.read_file(config.GLANCE_CONF).splitlines()
             if not line.startswith("user_storage_quota")]
    if storage_quota:
        lines.insert(lines.index("[DEFAULT]") + 1, f"user_storage_quota = {storage_quota}")
    host.write_files({config.GLANCE_CONF: ("\n".join(lines) + "\n", 0o640)})
    glance = spawn_glance(host)
    host.wait_listening(config.GLANCE_PORT, "Glance", START_TIMEOUT, processes={glance: glance_log(host)})


def provision(host: Any, cloud: Cloud) -> dict[str, Any]:
    """Fuel's users/endpoints and the old TestVM, through the APIs from inside the host (plan on stdin)."""
    plan = cloud.plan(str(SEED_IMAGE))
    done = host.run([str(tooling_python()), "-m", "lab.openstack.provision"], input=json.dumps(plan),
                    env={"PYTHONPATH": str(REPO)}, check=False, timeout=120)
    if done.returncode != 0:
        raise LabError(f"{host.name}: provisioning Keystone/Glance failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def status_xml(resources: list[tuple[str, str]], nodes: list[str]) -> str:
    """crm_mon's XML (what `pcs status xml` prints) for (resource id, top-level id) pairs, all Started."""
    lines = ['<?xml version="1.0"?>', '<crm_mon version="1.1.14">', "  <nodes>"]
    lines += [f'    <node name="{name}" id="{i}" online="true" standby="false" maintenance="false" '
              f'resources_running="{len(resources)}" type="member"/>' for i, name in enumerate(nodes, 1)]
    lines += ["  </nodes>", "  <resources>"]
    for top in dict.fromkeys(t for _, t in resources):
        members = [r for r, t in resources if t == top]
        attrs = 'role="Started" active="true" orphaned="false" managed="true" failed="false" failure_ignored="false"'
        agent = "ns_IPaddr2" if top.startswith("vip__") else members[0].removeprefix("p_")
        primitive = f'resource_agent="ocf::fuel:{agent}" {attrs} nodes_running_on="1"'
        if members == [top]:
            lines.append(f'    <resource id="{top}" {primitive}><node name="{nodes[0]}" id="1" cached="false"/>'
                         f"</resource>")
        else:
            lines.append(f'    <clone id="{top}" multi_state="false" unique="false" managed="true" failed="false">')
            lines += [f'      <resource id="{m}" {primitive}><node name="{nodes[0]}" id="1" cached="false"/>'
                      f"</resource>" for m in members]
            lines.append("    </clone>")
    lines += ["  </resources>", "</crm_mon>", ""]
    return "\n".join(lines)


def install_pcs(host: Any, ceilometer: bool, nodes: list[str]) -> None:
    """The lab's `pcs` stand-in (lab/openstack/pcs) and the cluster it reports."""
    resources = [("vip__management", "vip__management"), ("vip__public", "vip__public"),
                 ("p_haproxy", "clone_p_haproxy"), ("p_mysqld", "clone_p_mysqld"),
                 ("p_rabbitmq-server", "clone_p_rabbitmq-server")]
    if ceilometer:
        resources.append(("p_ceilometer-agent-central", "p_ceilometer-agent-central"))
    host.write_files({"/usr/sbin/pcs": (PCS.read_text(), 0o755),
                      "/var/lib/lab/pcs/status.xml": (status_xml(resources, nodes), 0o644)})


if __name__ == "__main__":
    if sys.argv[1:] != ["prepare"]:
        raise SystemExit("usage: python -m lab.openstack.services prepare")
    try:
        print(prepare())
    except LabError as error:
        raise SystemExit(str(error)) from None
