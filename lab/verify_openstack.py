"""Checks of the controllers' OpenStack side (issue 6), measured against the real services:

  TestVM in Glance   `openstack image show TestVM` from Glance's API (on the primary controller, with
                     /root/openrc): exactly one TestVM, vhd/ovf, vm_mode=xen, public, active, and the
                     checksum of the image the plugin ships (its testvm.json on the node)
  console tokens     per controller: nova.conf [cache] uses memcached on the servers keystone_authtoken
                     uses, and each of them answers memcached's `version` from that controller
"""
from __future__ import annotations

import json
from typing import Any

from lab.environment import PLUGIN_SCRIPTS_PATH
from lab.fuellab import FuelLab, NodeInfo
from lab.paths import REPO, tooling_python
from lab.verify import Check, read_ini

TESTVM_JSON = f"{PLUGIN_SCRIPTS_PATH}testvm/testvm.json"
SHOWN = ("disk_format", "container_format", "vm_mode", "status", "visibility", "checksum")
MEMCACHED_PROBE = """
import socket, sys
for server in sys.argv[1:]:
    host, _, port = server.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3) as s:
            s.sendall(b"version\\r\\n")
            print(server, s.recv(100).decode().strip())
    except OSError as error:
        print(server, "ERROR", error)
"""


def show_images(host: Any, name: str = "TestVM") -> tuple[dict[str, Any] | None, str]:
    """({"glance": url, "images": [...]}, "") from Glance's API inside `host`, or (None, the error)."""
    done = host.run([str(tooling_python()), "-m", "lab.openstack.images", name], env={"PYTHONPATH": str(REPO)},
                    check=False, timeout=60)
    if done.returncode != 0:
        return None, (done.stderr.strip() or f"exit {done.returncode}")[-400:]
    return json.loads(done.stdout), ""


def testvm(lab: Any, node: NodeInfo) -> Check:
    host = lab.host(node.name)
    name = "TestVM in Glance"
    shipped = host.run(["cat", TESTVM_JSON], check=False)
    if shipped.returncode != 0:
        return Check(name, node.name, False, f"{TESTVM_JSON} missing on {node.name}: the plugin is not deployed")
    image_file = json.loads(shipped.stdout)
    if not host.exists("/root/openrc"):
        return Check(name, node.name, False, "no /root/openrc yet (Fuel's controller task writes it when it deploys)")
    data, error = show_images(host)
    if data is None:
        return Check(name, node.name, False, f"Glance/Keystone did not answer: {error}")
    images = data["images"]
    if len(images) != 1:
        found = ", ".join(f"{i['id']} ({i.get('disk_format')}/{i.get('container_format')})" for i in images)
        return Check(name, node.name, False, f"{len(images)} images named TestVM in {data['glance']}: {found}")
    image = images[0]
    wanted = {"disk_format": "vhd", "container_format": "ovf", "vm_mode": "xen", "status": "active",
              "visibility": "public", "checksum": image_file["md5"]}
    wrong = [f"{key}={image.get(key)} (want {value})" for key, value in wanted.items() if image.get(key) != value]
    shown = ", ".join(f"{key} {image.get(key)}" for key in SHOWN)
    measured = (f"openstack image show TestVM ({data['glance']}): {image['id']}: {shown}, size {image.get('size')}"
                f"; the only TestVM; checksum {'=' if image.get('checksum') == image_file['md5'] else '!='} "
                f"shipped testvm.json md5")
    if wrong:
        measured = "wrong: " + "; ".join(wrong) + " | " + measured
    return Check(name, node.name, not wrong, measured)


def console_tokens(lab: Any, node: NodeInfo) -> Check:
    host = lab.host(node.name)
    name = f"console tokens {node.name}"
    nova = read_ini(host, "/etc/nova/nova.conf")
    if nova is None:
        return Check(name, node.name, False, "/etc/nova/nova.conf missing or unreadable")
    cache = nova.get("cache", "memcache_servers", fallback="")
    authtoken = nova.get("keystone_authtoken", "memcached_servers", fallback="")
    servers = [s.strip() for s in cache.split(",") if s.strip()]
    problems = []
    if nova.get("cache", "enabled", fallback="").lower() != "true":
        problems.append("[cache] enabled is not true")
    if nova.get("cache", "backend", fallback="") != "oslo_cache.memcache_pool":
        problems.append(f"[cache] backend = {nova.get('cache', 'backend', fallback=None)}")
    if sorted(servers) != sorted(s.strip() for s in authtoken.split(",") if s.strip()):
        problems.append(f"[cache] memcache_servers = {cache!r} but keystone_authtoken uses {authtoken!r}")
    answers = host.run([str(tooling_python()), "-c", MEMCACHED_PROBE, *servers], check=False, timeout=30).stdout
    answered = [line.split()[0] for line in answers.splitlines() if " VERSION " in f" {line} "]
    problems += [f"memcached {line}" for line in answers.splitlines() if " ERROR " in line]
    measured = (f"[cache] memcache_pool on {','.join(servers) or 'nothing'} (= keystone_authtoken's); "
                f"memcached answered `version` from {node.name}: {', '.join(answered) or 'none'}")
    if problems or not servers:
        return Check(name, node.name, False, "; ".join(problems or ["no memcache_servers"]) + " | " + measured)
    return Check(name, node.name, True, measured)


def checks(lab: Any, fuel: FuelLab) -> list[Check]:
    nodes = fuel.controllers()
    primary = [node for node in nodes if "primary-controller" in node.roles]
    return [testvm(lab, node) for node in primary] + [console_tokens(lab, node) for node in nodes]
