"""What a deployed Fuel controller runs that the plugin's controller tasks talk to (issue 6), at the end of `up`:

- memcached on every controller at its mgmt/memcache address (keystone_authtoken's and Nova's [cache]);
- on the primary controller (which holds the VIPs in the lab): real Keystone (SQLite, fernet tokens) on
  5000/35357 and real Glance (SQLite, file store) on 9292, from the OpenStack venv, with the admin
  user/project, Fuel's service users in `services`, the identity and image endpoints on the VIPs, and the
  environment's old TestVM (qcow2/bare, public) as Fuel's upload_cirros leaves it;
- `pcs` (a stand-in, lab/openstack/pcs) reporting the HA cluster's resources.
Processes are spawned in the hosts (tracked, killed by `down`); ports exist only in the lab's namespaces.
"""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab.errors import LabError
from lab.openstack import services
from lab.openstack.config import Cloud, memcached_addresses


def setup(lab: Any, env: Any, fuel: Any) -> None:
    nodes = env.controllers()
    if not nodes:
        return
    primary = next((node for node in nodes if "primary-controller" in node.roles), None)
    if primary is None:
        raise LabError("the environment has controllers but no primary-controller: Keystone and Glance need one")
    services.require_venv()
    if shutil.which("memcached") is None:
        raise LabError("memcached is not installed (the controllers run it): apt-get install memcached")
    addresses = memcached_addresses(primary.astute)
    for node in nodes:
        if node.uid in addresses:
            services.start_memcached(lab.host(node.name), addresses[node.uid])
    cloud = Cloud.from_astute(primary.astute)
    host = lab.host(primary.name)
    fqdns = [str(node.astute.get("fqdn") or node.name) for node in nodes]
    with ThreadPoolExecutor(max_workers=2) as pool:
        pcs = pool.submit(services.install_pcs, host, cloud.ceilometer, fqdns)
        services.start_cloud(host, cloud)
        pcs.result()
