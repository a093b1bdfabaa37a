"""What one simulated XenServer host looks like (contract C1).

The config file never holds the root password itself, only a salted PBKDF2 hash of it: the file lands in
Dom0's overlay, and a lab test greps everything the lab can see for the password.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

HIMN_BRIDGE = "xenapi"
HIMN_NAME_LABEL = "Host internal management network"
HIMN_OTHER_CONFIG = {
    "is_guest_installer_network": "true", "is_host_internal_management_network": "true",
    "ip_begin": "169.254.0.1", "ip_end": "169.254.255.254", "netmask": "255.255.0.0",
}

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Release:
    """Facts XenServer reports for one product version (host.software_version and API version)."""

    platform_version: str
    build_number: str
    date: str
    xen: str
    linux: str
    api_major: int
    api_minor: int
    product_version_text: str


# The plugin supports 6.5, 7.0 and 7.1; 6.2 and 7.2 exist so tests can show how an unsupported host is refused.
RELEASES: dict[str, Release] = {
    "6.2.0": Release("1.8.0", "70446c", "2013-06-14", "4.1.5", "2.6.32.43-0.4.1.xs1.8.0.835.170778xen", 2, 0, "6.2"),
    "6.5.0": Release("1.9.0", "90233c", "2015-01-20", "4.4.1-xs100346", "3.10.0+2", 2, 4, "6.5"),
    "7.0.0": Release("2.1.0", "125380c", "2016-05-12", "4.6.1-xs125300", "3.10.0+10", 2, 5, "7.0"),
    "7.1.0": Release("2.2.0", "137272c", "2016-12-14", "4.7.1-xs137234", "4.4.0+2", 2, 6, "7.1"),
    "7.2.0": Release("2.3.0", "3031", "2017-05-11", "4.7.2-2.2", "4.4.0+10", 2, 7, "7.2"),
}


def hash_password(password: str, salt: bytes | None = None, iterations: int = 20000) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2-sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, password_hash: str) -> bool:
    try:
        scheme, iterations, salt, _ = password_hash.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2-sha256":
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt), int(iterations)), password_hash)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass
class VifConfig:
    device: str
    mac: str
    bridge: str


@dataclass
class VmConfig:
    """A guest VM (the Fuel compute node). Its HIMN MAC goes to xenstore vm-data/himn_mac when it has a HIMN VIF."""

    name_label: str
    uuid: str = field(default_factory=new_uuid)
    domid: int = 1
    memory: int = 8 * GIB
    vcpus: int = 4
    disk_size: int = 60 * GIB
    vifs: list[VifConfig] = field(default_factory=list)


@dataclass
class NetworkConfig:
    name_label: str
    bridge: str
    other_config: dict[str, str] = field(default_factory=dict)
    uuid: str = field(default_factory=new_uuid)


@dataclass
class SrConfig:
    """The pool's default SR. type: 'ext' | 'nfs' | 'lvm'."""

    type: str = "ext"
    name_label: str = "Local storage"
    physical_size: int = 500 * GIB
    physical_utilisation: int = 80 * GIB
    uuid: str = field(default_factory=new_uuid)


@dataclass
class HostConfig:
    hostname: str
    uuid: str = field(default_factory=new_uuid)
    product_version: str = "7.0.0"
    hotfixes: list[str] = field(default_factory=list)
    address: str = "169.254.0.1"
    cpu_count: int = 8
    memory: int = 64 * GIB
    username: str = "root"
    password_hash: str = ""
    default_sr: SrConfig = field(default_factory=SrConfig)
    networks: list[NetworkConfig] = field(default_factory=list)
    vms: list[VmConfig] = field(default_factory=list)
    pool_uuid: str = field(default_factory=new_uuid)

    def __post_init__(self) -> None:
        if self.product_version not in RELEASES:
            raise ValueError(f"unknown XenServer version {self.product_version!r}; known: {', '.join(RELEASES)}")

    @property
    def release(self) -> Release:
        return RELEASES[self.product_version]

    @property
    def platform_version(self) -> str:
        return self.release.platform_version

    @property
    def control_domain_uuid(self) -> str:
        """Dom0's VM uuid (also /etc/xensource-inventory's CONTROL_DOMAIN_UUID), derived from the host's uuid."""
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"lab-dom0:{self.uuid}"))

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def password_matches(self, password: str) -> bool:
        return bool(self.password_hash) and check_password(password, self.password_hash)

    def network_by_bridge(self, bridge: str) -> NetworkConfig | None:
        return next((n for n in self.networks if n.bridge == bridge), None)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def digest(self) -> str:
        """Identifies the host the config describes; a state built from another config is not reused."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> HostConfig:
        data: dict[str, Any] = json.loads(text)
        data["default_sr"] = SrConfig(**data.get("default_sr", {}))
        data["networks"] = [NetworkConfig(**n) for n in data.get("networks", [])]
        data["vms"] = [
            VmConfig(**{**vm, "vifs": [VifConfig(**v) for v in vm.get("vifs", [])]}) for vm in data.get("vms", [])
        ]
        return cls(**data)

    @classmethod
    def default(
        cls,
        hostname: str,
        version: str = "7.0.0",
        password: str | None = None,
        compute_vm_vifs: list[tuple[str, str, str]] | None = None,
        *,
        hotfixes: list[str] | None = None,
        sr_type: str = "ext",
        compute_vm_name: str | None = None,
    ) -> HostConfig:
        """A host with the HIMN, one network per bridge the compute VM's VIFs use, and the compute VM.

        compute_vm_vifs: (device, MAC, bridge) triples; use bridge 'xenapi' for the VM's HIMN VIF.
        6.5 hosts get the hotfix the plugin requires unless `hotfixes` says otherwise.
        """
        if hotfixes is None:
            hotfixes = ["XS65ESP1013"] if version == "6.5.0" else []
        config = cls(hostname=hostname, product_version=version, hotfixes=list(hotfixes))
        config.default_sr = SrConfig(type=sr_type, name_label="NFS virtual disk storage" if sr_type == "nfs"
                                     else "Local storage")
        if password is not None:
            config.set_password(password)
        config.networks.append(NetworkConfig(HIMN_NAME_LABEL, HIMN_BRIDGE, dict(HIMN_OTHER_CONFIG)))
        vifs = [VifConfig(device, mac.lower(), bridge) for device, mac, bridge in compute_vm_vifs or []]
        for vif in vifs:
            if config.network_by_bridge(vif.bridge) is None:
                index = len(config.networks) - 1
                config.networks.append(NetworkConfig(f"Pool-wide network associated with eth{index}", vif.bridge))
        config.vms.append(VmConfig(name_label=compute_vm_name or f"{hostname}-compute", vifs=vifs))
        return config
