"""What Keystone and Glance are configured with in the lab, from the primary controller's astute data.

Fuel 9 registers Keystone at http://<management VIP>:5000 (internal), :35357 (admin) and the public VIP
(public), Glance at :9292 on the same VIPs; service users live in the `services` project with the admin
role; keystone_authtoken caches tokens in the controllers' memcached (mgmt/memcache addresses, port 11211).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.environment import is_controller

KEYSTONE_PORTS = (5000, 35357)
GLANCE_PORT = 9292
MEMCACHED_PORT = 11211
REGION = "RegionOne"
SERVICES_PROJECT = "services"

KEYSTONE_CONF = "/etc/keystone/keystone.conf"
KEYSTONE_DB = "/var/lib/keystone/keystone.sqlite"
GLANCE_DIR = "/etc/glance"
GLANCE_CONF = f"{GLANCE_DIR}/glance-api.conf"
GLANCE_DB = "/var/lib/glance/glance.sqlite"
GLANCE_LOG = "/var/log/glance/api.log"
GLANCE_DATA = "/var/lib/glance"

# Fuel's service users and where their password sits in astute.yaml
SERVICE_USERS = [("nova", ("nova", "user_password")), ("glance", ("glance", "user_password")),
                 ("cinder", ("cinder", "user_password")),
                 ("neutron", ("quantum_settings", "keystone", "admin_password"))]


def vip(data: dict[str, Any], name: str) -> str:
    return str(((data.get("network_metadata") or {}).get("vips") or {}).get(name, {}).get("ipaddr", ""))


def memcached_addresses(data: dict[str, Any]) -> dict[str, str]:
    """Controller uid -> its mgmt/memcache address: where memcached listens, as keystone_authtoken lists them."""
    nodes = (data.get("network_metadata") or {}).get("nodes") or {}
    found = {}
    for node in sorted(nodes.values(), key=lambda n: int(n.get("uid", 0))):
        address = (node.get("network_roles") or {}).get("mgmt/memcache")
        if address and is_controller(node.get("node_roles") or []):
            found[str(node["uid"])] = str(address)
    return found


def memcached_servers(data: dict[str, Any]) -> list[str]:
    """keystone_authtoken's memcached_servers: "address:port" of every controller's memcached, by uid."""
    return [f"{address}:{MEMCACHED_PORT}" for address in memcached_addresses(data).values()]


def _dig(data: dict[str, Any], path: tuple[str, ...]) -> str | None:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return str(data) if data else None


@dataclass
class Cloud:
    """The Keystone/Glance of one lab environment (no secret is written outside the primary controller)."""

    mgmt_vip: str
    public_vip: str
    admin_user: str
    admin_password: str
    admin_project: str
    memcached: list[str]
    passwords: dict[str, str] = field(default_factory=dict)  # service user -> password
    ceilometer: bool = False

    @classmethod
    def from_astute(cls, data: dict[str, Any]) -> Cloud:
        access = data.get("access") or {}
        passwords = {user: _dig(data, path) or secrets.token_urlsafe(12) for user, path in SERVICE_USERS}
        ceilometer = bool((data.get("ceilometer") or {}).get("enabled"))
        if ceilometer:
            passwords["ceilometer"] = _dig(data, ("ceilometer", "user_password")) or secrets.token_urlsafe(12)
        mgmt = vip(data, "management")
        return cls(mgmt_vip=mgmt, public_vip=vip(data, "public") or mgmt,
                   admin_user=str(access.get("user", "admin")), admin_password=str(access.get("password", "admin")),
                   admin_project=str(access.get("tenant", "admin")),
                   memcached=memcached_servers(data),
                   passwords=passwords, ceilometer=ceilometer)

    @property
    def internal_auth(self) -> str:
        return f"http://{self.mgmt_vip}:{KEYSTONE_PORTS[0]}"

    @property
    def admin_auth(self) -> str:
        return f"http://{self.mgmt_vip}:{KEYSTONE_PORTS[1]}"

    def keystone_conf(self) -> str:
        return "\n".join([
            "# Lab Keystone (Fuel 9 runs it under Apache on each controller, behind the management VIP)",
            "[DEFAULT]", "use_stderr = true", "",
            "[database]", f"connection = sqlite:///{KEYSTONE_DB}", "",
            "[identity]", "# bcrypt's minimum cost: every password check is fast in the lab",
            "password_hash_rounds = 4", "",
            "[token]", "provider = fernet", "",
            "[fernet_tokens]", "key_repository = /etc/keystone/fernet-keys", "",
            "[fernet_receipts]", "key_repository = /etc/keystone/fernet-keys", "",
            "[credential]", "key_repository = /etc/keystone/credential-keys", "",
        ])

    def glance_conf(self, paste_ini: Path) -> str:
        lines = [
            "# Lab Glance API (file store, SQLite)",
            "[DEFAULT]", "enabled_backends = fs:file", f"log_file = {GLANCE_LOG}",
            "", "[database]", f"connection = sqlite:///{GLANCE_DB}",
            "", "[glance_store]", "default_backend = fs",
            "", "[fs]", f"filesystem_store_datadir = {GLANCE_DATA}/images/",
            "", "[os_glance_staging_store]", f"filesystem_store_datadir = {GLANCE_DATA}/staging/",
            "", "[os_glance_tasks_store]", f"filesystem_store_datadir = {GLANCE_DATA}/tasks/",
            "", "[keystone_authtoken]", f"www_authenticate_uri = {self.internal_auth}",
            f"auth_url = {self.admin_auth}", "auth_type = password", "project_domain_name = Default",
            "user_domain_name = Default", f"project_name = {SERVICES_PROJECT}", "username = glance",
            f"password = {self.passwords['glance']}", f"memcached_servers = {','.join(self.memcached)}",
            "", "[paste_deploy]", "flavor = keystone", f"config_file = {paste_ini}", "",
        ]
        return "\n".join(lines)

    def bootstrap_env(self) -> dict[str, str]:
        """keystone-manage bootstrap's parameters as its OS_BOOTSTRAP_* variables (serve.py reads them)."""
        return {"OS_BOOTSTRAP_USERNAME": self.admin_user, "OS_BOOTSTRAP_PASSWORD": self.admin_password,
                "OS_BOOTSTRAP_PROJECT_NAME": self.admin_project, "OS_BOOTSTRAP_ROLE_NAME": "admin",
                "OS_BOOTSTRAP_SERVICE_NAME": "keystone", "OS_BOOTSTRAP_REGION_ID": REGION,
                "OS_BOOTSTRAP_ADMIN_URL": self.admin_auth, "OS_BOOTSTRAP_INTERNAL_URL": self.internal_auth,
                "OS_BOOTSTRAP_PUBLIC_URL": f"http://{self.public_vip}:{KEYSTONE_PORTS[0]}"}

    def plan(self, seed_image: str | None) -> dict[str, Any]:
        """provision.py's input: Fuel's service users and the image service's endpoints, the old TestVM."""
        glance = {"public": f"http://{self.public_vip}:{GLANCE_PORT}",
                  "internal": f"http://{self.mgmt_vip}:{GLANCE_PORT}",
                  "admin": f"http://{self.mgmt_vip}:{GLANCE_PORT}"}
        plan: dict[str, Any] = {
            "auth_url": self.internal_auth, "region": REGION, "services_project": SERVICES_PROJECT,
            "admin": {"user": self.admin_user, "password": self.admin_password, "project": self.admin_project},
            "users": [{"name": name, "password": password} for name, password in sorted(self.passwords.items())],
            "services": [{"type": "image", "name": "glance", "endpoints": glance}],
        }
        if seed_image:
            plan["image"] = {"path": seed_image, "record": {
                "name": "TestVM", "disk_format": "qcow2", "container_format": "bare", "visibility": "public",
                "min_ram": 64, "os_name": "cirros"}}
        return plan
