"""The XenAPI classes the lab knows, with each field's default as XenAPI marshals it.

XenAPI sends int64 fields as decimal strings over XML-RPC, references as 'OpaqueRef:<uuid>' (the null reference
is 'OpaqueRef:NULL'), sets as lists and maps as string-keyed structs; the defaults below follow that.
"""

from __future__ import annotations

import copy
from typing import Any

NULL_REF = "OpaqueRef:NULL"

_COMMON = {"uuid": "", "other_config": {}}
_NAMED = {"name_label": "", "name_description": ""}

FIELDS: dict[str, dict[str, Any]] = {
    "pool": {
        **_COMMON, **_NAMED, "master": NULL_REF, "default_SR": NULL_REF, "suspend_image_SR": NULL_REF,
        "crash_dump_SR": NULL_REF, "ha_enabled": False, "tags": [], "gui_config": {}, "restrictions": {},
        "cpu_info": {}, "wlb_enabled": False,
    },
    "host": {
        **_COMMON, **_NAMED, "hostname": "", "address": "", "enabled": True, "software_version": {},
        "API_version_major": "2", "API_version_minor": "5", "API_version_vendor": "XenSource",
        "API_version_vendor_implementation": {}, "capabilities": [], "cpu_configuration": {}, "cpu_info": {},
        "sched_policy": "credit", "supported_bootloaders": ["pygrub", "eliloader"], "resident_VMs": [],
        "logging": {}, "PIFs": [], "PBDs": [], "host_CPUs": [], "metrics": NULL_REF, "patches": [],
        "updates": [], "memory_overhead": "0", "license_params": {}, "edition": "free", "bios_strings": {},
        "power_on_mode": "", "power_on_config": {}, "local_cache_sr": NULL_REF, "tags": [],
        "suspend_image_sr": NULL_REF, "crash_dump_sr": NULL_REF, "external_auth_type": "",
        "external_auth_service_name": "", "chipset_info": {}, "ssl_legacy": True, "guest_VCPUs_params": {},
        "display": "enabled", "virtual_hardware_platform_versions": ["0", "1", "2"], "control_domain": NULL_REF,
    },
    "host_metrics": {"uuid": "", "memory_total": "0", "memory_free": "0", "live": True, "last_updated": "",
                     "other_config": {}},
    "host_cpu": {
        "uuid": "", "host": NULL_REF, "number": "0", "vendor": "GenuineIntel", "speed": "2600",
        "modelname": "", "family": "6", "model": "62", "stepping": "4", "flags": "", "features": "",
        "utilisation": 0.0, "other_config": {},
    },
    "SR": {
        **_COMMON, **_NAMED, "type": "ext", "content_type": "user", "shared": False, "physical_size": "0",
        "physical_utilisation": "0", "virtual_allocation": "0", "VDIs": [], "PBDs": [], "sm_config": {},
        "allowed_operations": [], "current_operations": {}, "tags": [], "blobs": {}, "local_cache_enabled": False,
        "introduced_by": NULL_REF, "clustered": False, "is_tools_sr": False,
    },
    "PBD": {"uuid": "", "host": NULL_REF, "SR": NULL_REF, "device_config": {}, "currently_attached": True,
            "other_config": {}},
    "VDI": {
        **_COMMON, **_NAMED, "SR": NULL_REF, "VBDs": [], "virtual_size": "0", "physical_utilisation": "0",
        "type": "user", "sharable": False, "read_only": False, "managed": True, "missing": False,
        "is_a_snapshot": False, "snapshot_of": NULL_REF, "snapshots": [], "location": "", "xenstore_data": {},
        "sm_config": {}, "tags": [], "allowed_operations": [], "current_operations": {}, "storage_lock": False,
        "parent": NULL_REF, "on_boot": "persist", "allow_caching": False, "metadata_latest": False,
    },
    "VBD": {
        **_COMMON, "VM": NULL_REF, "VDI": NULL_REF, "device": "", "userdevice": "0", "bootable": False,
        "mode": "RW", "type": "Disk", "unpluggable": True, "empty": False, "currently_attached": False,
        "storage_lock": False, "status_code": "0", "status_detail": "", "qos_algorithm_type": "",
        "qos_algorithm_params": {}, "qos_supported_algorithms": [], "allowed_operations": [],
        "current_operations": {}, "runtime_properties": {}, "metrics": NULL_REF,
    },
    "VM": {
        **_COMMON, **_NAMED, "power_state": "Halted", "is_a_template": False, "is_default_template": False,
        "is_a_snapshot": False, "is_control_domain": False, "domid": "-1", "resident_on": NULL_REF,
        "affinity": NULL_REF, "memory_overhead": "0", "memory_target": "0", "memory_static_max": "0",
        "memory_dynamic_max": "0", "memory_dynamic_min": "0", "memory_static_min": "0", "VCPUs_params": {},
        "VCPUs_max": "1", "VCPUs_at_startup": "1", "actions_after_shutdown": "destroy",
        "actions_after_reboot": "restart", "actions_after_crash": "restart", "VIFs": [], "VBDs": [],
        "consoles": [], "crash_dumps": [], "VTPMs": [], "PV_bootloader": "", "PV_kernel": "", "PV_ramdisk": "",
        "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "", "HVM_boot_policy": "",
        "HVM_boot_params": {}, "HVM_shadow_multiplier": 1.0, "platform": {}, "PCI_bus": "",
        "xenstore_data": {}, "metrics": NULL_REF, "guest_metrics": NULL_REF, "tags": [], "blocked_operations": {},
        "allowed_operations": [], "current_operations": {}, "snapshot_of": NULL_REF, "snapshots": [],
        "user_version": "1", "ha_restart_priority": "", "recommendations": "", "bios_strings": {},
        "has_vendor_device": False, "hardware_platform_version": "0",
    },
    "VIF": {
        **_COMMON, "device": "0", "network": NULL_REF, "VM": NULL_REF, "MAC": "", "MTU": "1500",
        "currently_attached": False, "status_code": "0", "status_detail": "", "runtime_properties": {},
        "qos_algorithm_type": "", "qos_algorithm_params": {}, "qos_supported_algorithms": [],
        "MAC_autogenerated": False, "locking_mode": "network_default", "ipv4_allowed": [], "ipv6_allowed": [],
        "allowed_operations": [], "current_operations": {}, "metrics": NULL_REF,
    },
    "network": {
        **_COMMON, **_NAMED, "bridge": "", "MTU": "1500", "VIFs": [], "PIFs": [], "blobs": {}, "tags": [],
        "default_locking_mode": "unlocked", "managed": True, "allowed_operations": [], "current_operations": {},
    },
    "PIF": {
        **_COMMON, "device": "", "network": NULL_REF, "host": NULL_REF, "MAC": "", "MTU": "1500", "VLAN": "-1",
        "physical": True, "currently_attached": True, "ip_configuration_mode": "None", "IP": "", "netmask": "",
        "gateway": "", "DNS": "", "management": False, "bond_slave_of": NULL_REF, "bond_master_of": [],
        "VLAN_master_of": NULL_REF, "VLAN_slave_of": [], "metrics": NULL_REF, "disallow_unplug": False,
        "managed": True,
    },
    "pool_patch": {
        **_COMMON, **_NAMED, "version": "1.0", "size": "0", "pool_applied": True, "host_patches": [],
        "after_apply_guidance": [], "pool_update": NULL_REF,
    },
    "host_patch": {
        **_COMMON, **_NAMED, "version": "1.0", "host": NULL_REF, "applied": True, "timestamp_applied": "",
        "size": "0", "pool_patch": NULL_REF,
    },
    "pool_update": {
        **_NAMED, "uuid": "", "version": "", "installation_size": "0", "key": "", "after_apply_guidance": [],
        "vdi": NULL_REF, "hosts": [], "other_config": {}, "enforce_homogeneity": False,
    },
    "task": {
        **_COMMON, **_NAMED, "allowed_operations": [], "current_operations": {}, "created": "", "finished": "",
        "status": "pending", "resident_on": NULL_REF, "progress": 0.0, "type": "", "result": "",
        "error_info": [], "subtask_of": NULL_REF, "subtasks": [], "backtrace": "",
    },
    "session": {
        "uuid": "", "this_host": NULL_REF, "this_user": NULL_REF, "last_active": "", "pool": False,
        "other_config": {}, "is_local_superuser": True, "subject": NULL_REF, "validation_time": "",
        "auth_user_sid": "", "auth_user_name": "", "rbac_permissions": [], "tasks": [], "parent": NULL_REF,
        "originator": "",
    },
}

# XenServer spells these classes in mixed case on the wire; calls are matched case-insensitively.
CLASS_NAMES = {name.lower(): name for name in FIELDS}

# Classes that exist only from a given platform version on (pool_update arrived with 7.1 = platform 2.2.0).
INTRODUCED_IN = {"pool_update": (2, 2, 0)}


def canonical_class(name: str) -> str | None:
    return CLASS_NAMES.get(name.lower())


def new_record(cls: str, **values: Any) -> dict[str, Any]:
    record = copy.deepcopy(FIELDS[cls])
    unknown = set(values) - set(record)
    if unknown:
        raise KeyError(f"{cls} has no field(s) {sorted(unknown)}")
    record.update(values)
    return record
