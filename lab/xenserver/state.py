"""The one state model of a simulated host: every XenAPI object as XenAPI returns it, persisted to JSON."""

from __future__ import annotations

import json
import os
import tempfile
import uuid as uuidlib
from pathlib import Path
from typing import Any

from lab.xenserver.config import HIMN_BRIDGE, MIB, HostConfig, new_uuid
from lab.xenserver.schema import FIELDS, NULL_REF, new_record

Record = dict[str, Any]


def new_ref() -> str:
    return f"OpaqueRef:{uuidlib.uuid4()}"


class NoSuchObjectError(KeyError):
    """A reference or uuid that names nothing (XenAPI: HANDLE_INVALID / UUID_INVALID)."""


class State:
    """class name -> ref -> record. Cross references (VM.VIFs, network.VIFs, ...) are kept on both ends."""

    def __init__(self, objects: dict[str, dict[str, Record]] | None = None, config_digest: str = "") -> None:
        self.config_digest = config_digest
        self.objects: dict[str, dict[str, Record]] = {cls: {} for cls in FIELDS}
        for cls, records in (objects or {}).items():
            self.objects.setdefault(cls, {}).update(records)

    # -- lookups ---------------------------------------------------------------------------------------------
    def records(self, cls: str) -> dict[str, Record]:
        return self.objects[cls]

    def get(self, cls: str, ref: str) -> Record:
        try:
            return self.objects[cls][ref]
        except KeyError:
            raise NoSuchObjectError(cls, ref) from None

    def ref_by_uuid(self, cls: str, uuid: str) -> str:
        for ref, record in self.objects[cls].items():
            if record.get("uuid") == uuid:
                return ref
        raise NoSuchObjectError(cls, uuid)

    def find(self, cls: str, **match: Any) -> list[str]:
        return [ref for ref, rec in self.objects[cls].items() if all(rec.get(k) == v for k, v in match.items())]

    def class_of(self, ref: str) -> str | None:
        return next((cls for cls, records in self.objects.items() if ref in records), None)

    @property
    def pool_ref(self) -> str:
        return next(iter(self.objects["pool"]))

    @property
    def host_ref(self) -> str:
        return self.get("pool", self.pool_ref)["master"]

    @property
    def host(self) -> Record:
        return self.get("host", self.host_ref)

    def platform_version(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.host["software_version"]["platform_version"].split("."))

    # -- changes ---------------------------------------------------------------------------------------------
    def add(self, cls: str, ref: str | None = None, **values: Any) -> str:
        ref = ref or new_ref()
        values.setdefault("uuid", new_uuid())
        self.objects[cls][ref] = new_record(cls, **values)
        return ref

    def link(self, cls: str, ref: str, field: str, other: str) -> None:
        """Append `other` to the set field `field` of (cls, ref) unless present."""
        values = self.get(cls, ref)[field]
        if other not in values:
            values.append(other)

    def remove(self, cls: str, ref: str) -> None:
        """Destroy an object and drop every reference to it from sets elsewhere; scalar refs become NULL."""
        self.get(cls, ref)
        del self.objects[cls][ref]
        for records in self.objects.values():
            for record in records.values():
                for key, value in record.items():
                    if value == ref:
                        record[key] = NULL_REF
                    elif isinstance(value, list) and ref in value:
                        value.remove(ref)

    # -- persistence -----------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"config_digest": self.config_digest, "objects": self.objects}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> State:
        data = json.loads(text)
        return cls(data["objects"], data.get("config_digest", ""))

    def save(self, path: Path) -> None:
        """Write atomically, readable by root only (session refs are credentials)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as stream:
                stream.write(self.to_json())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    @classmethod
    def load_or_build(cls, path: Path | None, config: HostConfig) -> State:
        """The saved state when it was built from this config; else the host's first boot."""
        if path is not None and path.exists():
            state = cls.from_json(path.read_text())
            if state.config_digest == config.digest():
                return state
        return build_state(config)


TEMPLATES = ("Other install media", "Debian Jessie 8.0", "CentOS 7", "Ubuntu Trusty Tahr 14.04")


def software_version(config: HostConfig) -> dict[str, str]:
    release = config.release
    return {
        "product_version": config.product_version,
        "product_version_text": release.product_version_text,
        "product_version_text_short": release.product_version_text,
        "platform_name": "XCP",
        "platform_version": release.platform_version,
        "product_brand": "XenServer",
        "build_number": release.build_number,
        "hostname": config.hostname,
        "date": release.date,
        "dbv": "0.0.1",
        "xapi": "1.9",
        "xen": release.xen,
        "linux": release.linux,
        "xencenter_min": "2.6",
        "xencenter_max": "2.6",
        "network_backend": "openvswitch",
        "db_schema": "5.120",
    }


def _cpu_info(config: HostConfig) -> dict[str, str]:
    return {
        "cpu_count": str(config.cpu_count), "socket_count": "1", "vendor": "GenuineIntel", "speed": "2600.000",
        "modelname": "Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz", "family": "6", "model": "62", "stepping": "4",
        "flags": "fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx lm",
        "features": "7fbee3ff-bfebfbff-00000001-2c100800", "features_pv": "17c9cbf5-f6f83203-2191cbf5-00000023",
        "features_hvm": "17cbfbff-f7fa3223-2d93fbff-00000023",
    }


def _mac(index: int) -> str:
    return f"00:16:3e:a0:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


def build_state(config: HostConfig) -> State:
    """The first boot of a host: pool, host, Dom0, storage, networks, the compute VM(s), hotfixes/updates."""
    state = State(config_digest=config.digest())
    pool = new_ref()
    host = new_ref()
    metrics = state.add("host_metrics", memory_total=str(config.memory), memory_free=str(config.memory))
    platform = tuple(int(p) for p in config.platform_version.split("."))
    release = config.release
    state.add("pool", pool, uuid=config.pool_uuid, master=host)
    state.add(
        "host", host, uuid=config.uuid, name_label=config.hostname, name_description="Default install",
        hostname=config.hostname, address=config.address, software_version=software_version(config),
        API_version_major=str(release.api_major), API_version_minor=str(release.api_minor),
        capabilities=["xen-3.0-x86_64", "xen-3.0-x86_32p", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"],
        cpu_info=_cpu_info(config), metrics=metrics, memory_overhead=str(config.memory // 50),
        cpu_configuration={}, other_config={"agent_start_time": "1480000000.", "iscsi_iqn": "iqn.lab"},
    )
    for number in range(config.cpu_count):
        cpu = state.add("host_cpu", host=host, number=str(number), modelname=_cpu_info(config)["modelname"])
        state.link("host", host, "host_CPUs", cpu)

    # Storage: the default SR (its PBD plugged on this host) and the tools ISO SR XenServer always has.
    sr_conf = config.default_sr
    sr = state.add(
        "SR", uuid=sr_conf.uuid, name_label=sr_conf.name_label, type=sr_conf.type,
        shared=sr_conf.type == "nfs", physical_size=str(sr_conf.physical_size),
        physical_utilisation=str(sr_conf.physical_utilisation),
        other_config={"i18n-key": "local-storage"} if sr_conf.type != "nfs" else {},
        sm_config={"devserial": "scsi-lab"} if sr_conf.type != "nfs" else {},
    )
    tools = state.add("SR", name_label="XenServer Tools", type="iso", content_type="iso", is_tools_sr=True,
                      other_config={"xenserver_tools_sr": "true", "i18n-key": "xenserver-tools"})
    for each in (sr, tools):
        pbd = state.add("PBD", host=host, SR=each)
        state.link("SR", each, "PBDs", pbd)
        state.link("host", host, "PBDs", pbd)
    pool_record = state.get("pool", pool)
    pool_record.update(default_SR=sr, suspend_image_SR=sr, crash_dump_SR=sr)

    networks: dict[str, str] = {}
    for index, net in enumerate(config.networks):
        ref = state.add("network", uuid=net.uuid, name_label=net.name_label, bridge=net.bridge,
                        other_config=dict(net.other_config))
        networks[net.bridge] = ref
        if net.other_config.get("is_host_internal_management_network") != "true":
            pif = state.add("PIF", device=f"eth{index - 1}", network=ref, host=host, MAC=_mac(index),
                            management=not any(r["management"] for r in state.records("PIF").values()))
            state.link("network", ref, "PIFs", pif)
            state.link("host", host, "PIFs", pif)

    dom0 = state.add(
        "VM", uuid=config.control_domain_uuid, name_label=f"Control domain on host: {config.hostname}",
        power_state="Running",
        is_control_domain=True, domid="0", resident_on=host, memory_static_max=str(4096 * MIB),
        memory_dynamic_max=str(752 * MIB), memory_dynamic_min=str(752 * MIB), memory_target=str(752 * MIB),
        memory_static_min=str(752 * MIB), VCPUs_max=str(min(config.cpu_count, 8)),
        VCPUs_at_startup=str(min(config.cpu_count, 8)),
    )
    state.get("host", host)["control_domain"] = dom0
    state.link("host", host, "resident_VMs", dom0)

    for template in TEMPLATES:  # a few of the templates every XenServer ships, so clients must filter them out
        state.add("VM", name_label=template, name_description=f"Template for {template}", is_a_template=True,
                  is_default_template=True, power_state="Halted", memory_static_max=str(1024 * MIB),
                  other_config={"default_template": "true"})

    virtual_allocation = 0
    for vm_conf in config.vms:
        vm = state.add(
            "VM", uuid=vm_conf.uuid, name_label=vm_conf.name_label, power_state="Running", domid=str(vm_conf.domid),
            resident_on=host, memory_static_max=str(vm_conf.memory), memory_dynamic_max=str(vm_conf.memory),
            memory_dynamic_min=str(vm_conf.memory), memory_static_min=str(vm_conf.memory),
            memory_target=str(vm_conf.memory), VCPUs_max=str(vm_conf.vcpus), VCPUs_at_startup=str(vm_conf.vcpus),
            HVM_boot_policy="BIOS order", HVM_boot_params={"order": "ndc"},
            platform={"acpi": "1", "apic": "true", "pae": "true", "viridian": "true", "nx": "true"},
        )
        state.link("host", host, "resident_VMs", vm)
        vdi = state.add(
            "VDI", name_label=f"{vm_conf.name_label} disk 0", SR=sr, virtual_size=str(vm_conf.disk_size),
            physical_utilisation=str(vm_conf.disk_size // 4), location=new_uuid(),
        )
        state.link("SR", sr, "VDIs", vdi)
        vbd = state.add("VBD", VM=vm, VDI=vdi, device="xvda", userdevice="0", bootable=True,
                        currently_attached=True)
        state.link("VM", vm, "VBDs", vbd)
        state.link("VDI", vdi, "VBDs", vbd)
        virtual_allocation += vm_conf.disk_size
        for vif_conf in vm_conf.vifs:
            network = networks.get(vif_conf.bridge)
            if network is None:
                raise ValueError(f"VM {vm_conf.name_label}: no network with bridge {vif_conf.bridge!r}")
            vif = state.add("VIF", device=vif_conf.device, network=network, VM=vm, MAC=vif_conf.mac,
                            currently_attached=True)
            state.link("VM", vm, "VIFs", vif)
            state.link("network", network, "VIFs", vif)
            if vif_conf.bridge == HIMN_BRIDGE:
                state.get("VM", vm)["xenstore_data"]["vm-data/himn_mac"] = vif_conf.mac
    state.get("SR", sr)["virtual_allocation"] = str(virtual_allocation)
    used = sum(int(state.get("VM", ref)["memory_target"]) for ref in state.get("host", host)["resident_VMs"])
    free = config.memory - used - int(state.get("host", host)["memory_overhead"])
    state.get("host_metrics", metrics)["memory_free"] = str(max(free, 0))

    for name in config.hotfixes:
        add_hotfix(state, name, platform)
    return state


def add_hotfix(state: State, name: str, platform: tuple[int, ...]) -> None:
    """An applied hotfix: pool_patch + host_patch before 7.1; from 7.1 (platform 2.2.0) also a pool_update."""
    host = state.host_ref
    patch = state.add("pool_patch", name_label=name, name_description=f"Public Availability: {name}",
                      size="0", after_apply_guidance=[])
    host_patch = state.add("host_patch", name_label=name, host=host, pool_patch=patch,
                           timestamp_applied="20161201T00:00:00Z")
    state.link("pool_patch", patch, "host_patches", host_patch)
    state.link("host", host, "patches", host_patch)
    if platform >= (2, 2, 0):
        update = state.add("pool_update", name_label=name, name_description=f"Public Availability: {name}",
                           version="1.0", key="Citrix", hosts=[host])
        state.get("pool_patch", patch)["pool_update"] = update
        state.link("host", host, "updates", update)
