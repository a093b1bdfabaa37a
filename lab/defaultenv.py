"""The lab's default Fuel environment, generated in the shape a Fuel 9.x master gives (see the xs-ha fixtures).

Two compute VMs (each on its own XenServer host), one primary controller and one Cinder node, Neutron VLAN:
eth0 = PXE/admin, eth1 = public (untagged) + management (VLAN 101) + storage (VLAN 102), eth2 = private
(through br-aux patched to br-prv), and on computes eth3 = the HIMN NIC with no Fuel network.
"""

from __future__ import annotations

import copy
from typing import Any

ADMIN_NET, MGMT_NET, STORAGE_NET, PUBLIC_NET = "10.20.0", "192.168.0", "192.168.1", "172.16.0"
MGMT_VLAN, STORAGE_VLAN = 101, 102
MGMT_VIP, PUBLIC_VIP = f"{MGMT_NET}.2", f"{PUBLIC_NET}.2"

# uid, roles, user_node_name: the default lab (host numbers double as address suffixes).
NODES: list[tuple[str, list[str], str]] = [
    ("1", ["primary-controller"], "lab-ctrl-1"),
    ("2", ["cinder"], "lab-cinder-1"),
    ("3", ["compute"], "lab-comp-1"),
    ("4", ["compute"], "lab-comp-2"),
]

COMMON: dict[str, Any] = {
    "access": {"email": "admin@localhost", "password": "admin", "tenant": "admin", "user": "admin",
               "metadata": {"group": "general", "label": "OpenStack Access", "weight": 10}},
    "ceilometer": {"enabled": False, "db_password": "lab-ceilometer-db", "metering_secret": "lab-metering",
                   "user_password": "lab-ceilometer"},
    "cluster": {"fuel_version": "9.0", "id": 1, "mode": "ha_compact", "name": "lab", "status": "new"},
    "deployment_id": 1,
    "deployment_mode": "ha_compact",
    "fuel_version": "9.0",
    "libvirt_type": "qemu",
    "management_network_range": f"{MGMT_NET}.0/24",
    "master_ip": f"{ADMIN_NET}.1",
    "openstack_version": "mitaka-9.0",
    "plugins": [],
    "public_ssl": {"cert_data": "", "cert_source": "self_signed", "horizon": False, "hostname": "public.fuel.local",
                   "services": False, "metadata": {"group": "security", "label": "Public TLS", "weight": 110}},
    "quantum_settings": {
        "L2": {"base_mac": "fa:16:3e:00:00:00", "segmentation_type": "vlan",
               "phys_nets": {"physnet1": {"bridge": "br-floating", "vlan_range": None},
                             "physnet2": {"bridge": "br-prv", "vlan_range": "1000:1030"}}},
        "L3": {"use_namespaces": True},
        "default_floating_net": "admin_floating_net", "default_private_net": "admin_internal_net",
    },
    "release": {"name": "Mitaka on Ubuntu 14.04", "operating_system": "Ubuntu", "version": "mitaka-9.0"},
    "storage": {"ephemeral_ceph": False, "images_ceph": False, "objects_ceph": False, "volumes_ceph": False,
                "volumes_lvm": True},
    "storage_network_range": f"{STORAGE_NET}.0/24",
    "test_vm_image": {"container_format": "bare", "disk_format": "qcow2", "img_name": "TestVM", "os_name": "cirros",
                      "img_path": "/usr/share/cirros-testvm/cirros-x86_64-disk.img", "min_ram": 64,
                      "glance_properties": "", "properties": {}, "public": "true"},
    "use_cinder": True,
}


def mac(uid: str, index: int) -> str:
    """Xen-style MACs (00:16:3e:...), unique per node and NIC."""
    return f"00:16:3e:1a:{int(uid):02x}:{index:02x}"


def addresses(uid: str, roles: list[str]) -> dict[str, str]:
    host = 10 + int(uid)
    found = {"admin": f"{ADMIN_NET}.{host}", "management": f"{MGMT_NET}.{host}", "storage": f"{STORAGE_NET}.{host}"}
    if _is_controller(roles):
        found["public"] = f"{PUBLIC_NET}.{host}"
    return found


def network_scheme(uid: str, roles: list[str]) -> dict[str, Any]:
    ips = addresses(uid, roles)
    controller = _is_controller(roles)
    nics = ["eth0", "eth1", "eth2"] + (["eth3"] if "compute" in roles else [])
    transformations: list[dict[str, Any]] = [{"action": "add-br", "name": name}
                                             for name in ("br-fw-admin", "br-mgmt", "br-storage")]
    if controller:
        transformations += [{"action": "add-br", "name": "br-ex"},
                            {"action": "add-br", "name": "br-floating", "provider": "ovs"},
                            {"action": "add-patch", "bridges": ["br-floating", "br-ex"], "mtu": 65000,
                             "provider": "ovs"}]
    transformations += [{"action": "add-br", "name": "br-prv", "provider": "ovs"},
                        {"action": "add-br", "name": "br-aux"},
                        {"action": "add-patch", "bridges": ["br-prv", "br-aux"], "mtu": 65000, "provider": "ovs"},
                        {"action": "add-port", "bridge": "br-fw-admin", "name": "eth0"}]
    if controller:
        transformations.append({"action": "add-port", "bridge": "br-ex", "name": "eth1"})
    transformations += [{"action": "add-port", "bridge": "br-mgmt", "name": f"eth1.{MGMT_VLAN}"},
                        {"action": "add-port", "bridge": "br-storage", "name": f"eth1.{STORAGE_VLAN}"},
                        {"action": "add-port", "bridge": "br-aux", "name": "eth2"}]
    endpoints: dict[str, Any] = {
        "br-fw-admin": {"IP": [f"{ips['admin']}/24"], "vendor_specific": {"provider_gateway": f"{ADMIN_NET}.1"}},
        "br-mgmt": {"IP": [f"{ips['management']}/24"]},
        "br-storage": {"IP": [f"{ips['storage']}/24"]},
        "br-prv": {"IP": "none"},
    }
    if controller:
        endpoints["br-ex"] = {"IP": [f"{ips['public']}/24"], "gateway": f"{PUBLIC_NET}.1",
                              "vendor_specific": {"provider_gateway": f"{PUBLIC_NET}.1"}}
        endpoints["br-floating"] = {"IP": "none"}
    else:
        endpoints["br-fw-admin"]["gateway"] = f"{ADMIN_NET}.1"
    roles_map = {"admin/pxe": "br-fw-admin", "fw-admin": "br-fw-admin", "management": "br-mgmt",
                 "mgmt/vip": "br-mgmt", "mgmt/memcache": "br-mgmt", "mgmt/database": "br-mgmt",
                 "mgmt/messaging": "br-mgmt", "keystone/api": "br-mgmt", "glance/api": "br-mgmt",
                 "nova/api": "br-mgmt", "nova/migration": "br-mgmt", "neutron/api": "br-mgmt",
                 "neutron/private": "br-prv", "storage": "br-storage", "cinder/iscsi": "br-storage",
                 "cinder/api": "br-mgmt", "swift/replication": "br-storage"}
    if controller:
        roles_map.update({"ex": "br-ex", "public/vip": "br-ex", "neutron/floating": "br-floating"})
    return {"version": "1.1", "provider": "lnx", "transformations": transformations, "endpoints": endpoints,
            "roles": roles_map,
            "interfaces": {nic: {"vendor_specific": {"bus_info": f"vif-{i}", "driver": "vif"}}
                           for i, nic in enumerate(nics)}}


def generate() -> dict[str, dict[str, Any]]:
    """astute.yaml data of every node of the default environment, by file name (as in a fixtures dir)."""
    metadata_nodes: dict[str, Any] = {}
    legacy_nodes: list[dict[str, Any]] = []
    for uid, roles, user_name in NODES:
        ips = addresses(uid, roles)
        name = f"node-{uid}"
        network_roles = {"admin/pxe": ips["admin"], "fw-admin": ips["admin"], "management": ips["management"],
                         "mgmt/vip": ips["management"], "mgmt/memcache": ips["management"],
                         "storage": ips["storage"], "neutron/private": None}
        if "public" in ips:
            network_roles.update({"ex": ips["public"], "public/vip": ips["public"]})
        metadata_nodes[name] = {"fqdn": f"{name}.lab.local", "name": name, "uid": uid, "node_roles": roles,
                                "user_node_name": user_name, "swift_zone": uid, "network_roles": network_roles}
        for role in roles:
            entry = {"fqdn": f"{name}.lab.local", "name": name, "uid": uid, "role": role, "swift_zone": uid,
                     "user_node_name": user_name, "internal_address": ips["management"],
                     "internal_netmask": "255.255.255.0", "storage_address": ips["storage"],
                     "storage_netmask": "255.255.255.0"}
            if "public" in ips:
                entry.update({"public_address": ips["public"], "public_netmask": "255.255.255.0"})
            legacy_nodes.append(entry)
    controllers = [n for _, roles, _ in NODES for n in roles if _is_controller([n])]
    vips = {"management": {"ipaddr": MGMT_VIP, "network_role": "mgmt/vip", "namespace": "haproxy",
                           "node_roles": ["controller", "primary-controller"], "is_user_defined": False},
            "public": {"ipaddr": PUBLIC_VIP, "network_role": "public/vip", "namespace": "haproxy",
                       "node_roles": ["controller", "primary-controller"], "is_user_defined": False}}
    files: dict[str, dict[str, Any]] = {}
    for uid, roles, user_name in NODES:
        data = copy.deepcopy(COMMON)
        nics = list(network_scheme(uid, roles)["interfaces"])
        data.update({
            "uid": uid, "fqdn": f"node-{uid}.lab.local", "roles": roles, "user_node_name": user_name,
            "network_scheme": network_scheme(uid, roles),
            "network_metadata": {"nodes": copy.deepcopy(metadata_nodes), "vips": copy.deepcopy(vips)},
            "nodes": copy.deepcopy(legacy_nodes),
            "provision": {"interfaces": {nic: {"mac_address": mac(uid, i), "static": "0"}
                                         for i, nic in enumerate(nics)}},
            "last_controller": f"node-{NODES[0][0]}" if controllers else None,
        })
        files[f"{roles[0]}-node{uid}.yaml"] = data
    return files


def _is_controller(roles: list[str]) -> bool:
    return any(role in ("controller", "primary-controller") for role in roles)
