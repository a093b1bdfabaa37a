"""What Fuel's own tasks leave on a node that the plugin's tasks then edit.

Fuel's tasks are no-ops in the lab, except that when the runner passes one of those below it writes the
files that task's Puppet manifests would have written (the parts the plugin reads or changes), from the
node's astute data - and only when the file is not there yet, as a node that is already deployed keeps
its files (so a second deployment shows the plugin's tasks making no change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.openstack.config import memcached_servers, vip

Files = dict[str, tuple[str, int, str]]  # path -> (content, mode, group)


def _management_ip(data: dict[str, Any]) -> str:
    for endpoint in ("br-mgmt",):
        ips = (data.get("network_scheme") or {}).get("endpoints", {}).get(endpoint, {}).get("IP")
        if isinstance(ips, list) and ips:
            return str(ips[0]).split("/")[0]
    return "127.0.0.1"


def nova_conf(data: dict[str, Any], controller: bool) -> str:
    mgmt_vip, public_vip = vip(data, "management"), vip(data, "public")
    lines = [
        "# Written by Fuel's Puppet (openstack-controller / top-role-compute); lab rendition, Mitaka defaults kept",
        "[DEFAULT]",
        f"my_ip = {_management_ip(data)}",
        "state_path = /var/lib/nova",
        "log_dir = /var/log/nova",
        "use_neutron = True",
        "firewall_driver = nova.virt.firewall.NoopFirewallDriver",
        "",
        "[keystone_authtoken]",
        f"auth_uri = http://{mgmt_vip}:5000/",
        f"auth_url = http://{mgmt_vip}:35357/",
        f"memcached_servers = {','.join(memcached_servers(data))}",
        "",
        "[vnc]",
        "enabled = True",
    ]
    if controller:
        lines += [f"novncproxy_host = {_management_ip(data)}", "novncproxy_port = 6080"]
    else:
        lines += [f"vncserver_proxyclient_address = {_management_ip(data)}",
                  f"novncproxy_base_url = http://{public_vip}:6080/vnc_auto.html"]
    lines += ["", "[glance]", f"api_servers = http://{mgmt_vip}:9292", ""]
    return "\n".join(lines)


def nova_compute_conf() -> str:
    return ("# Written by Fuel's Puppet (top-role-compute) for the default hypervisor\n"
            "[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n\n[libvirt]\nvirt_type = qemu\n")


def ovs_agent_ini(data: dict[str, Any]) -> str:
    phys = (((data.get("quantum_settings") or {}).get("L2") or {}).get("phys_nets") or {})
    mappings = ",".join(f"{name}:{net['bridge']}" for name, net in sorted(phys.items())
                        if isinstance(net, dict) and net.get("bridge") == "br-prv")
    return ("# Written by Fuel's Puppet (openstack-network-plugins-l2)\n"
            "[agent]\npolling_interval = 2\nl2_population = False\narp_responder = False\n\n"
            f"[ovs]\nintegration_bridge = br-int\nbridge_mappings = {mappings}\n\n"
            "[securitygroup]\nfirewall_driver = iptables_hybrid\n")


def rootwrap_conf() -> str:
    """Neutron Mitaka's etc/rootwrap.conf as the package installs it (its [xenapi] section unset)."""
    return ("# Configuration for neutron-rootwrap\n[DEFAULT]\n"
            "filters_path=/etc/neutron/rootwrap.d,/usr/share/neutron/rootwrap\n"
            "exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin,/usr/local/sbin\n"
            "use_syslog=False\nsyslog_log_facility=syslog\nsyslog_log_level=ERROR\n\n"
            "[xenapi]\n# XenAPI configuration is only required by the L2 agent if it is to\n"
            "# target a XenServer/XCP compute host's dom0.\n"
            "xenapi_connection_url=<None>\nxenapi_connection_username=root\nxenapi_connection_password=<None>\n")


def openrc(data: dict[str, Any]) -> str:
    access = data.get("access") or {}
    values = {"OS_NO_CACHE": "true", "OS_TENANT_NAME": access.get("tenant", "admin"),
              "OS_PROJECT_NAME": access.get("tenant", "admin"), "OS_USERNAME": access.get("user", "admin"),
              "OS_PASSWORD": access.get("password", "admin"),
              "OS_AUTH_URL": f"http://{vip(data, 'management')}:5000/",
              "OS_DEFAULT_DOMAIN": "Default", "OS_AUTH_STRATEGY": "keystone", "OS_REGION_NAME": "RegionOne",
              "CINDER_ENDPOINT_TYPE": "internalURL", "GLANCE_ENDPOINT_TYPE": "internalURL",
              "KEYSTONE_ENDPOINT_TYPE": "internalURL", "NOVA_ENDPOINT_TYPE": "internalURL",
              "NEUTRON_ENDPOINT_TYPE": "internalURL", "OS_ENDPOINT_TYPE": "internalURL"}
    return "#!/bin/sh\n" + "".join(f"export {key}='{value}'\n" for key, value in values.items())


def controller_files(data: dict[str, Any]) -> Files:
    return {"/etc/nova/nova.conf": (nova_conf(data, controller=True), 0o640, "nova"),
            "/root/openrc": (openrc(data), 0o600, "root")}


def compute_files(data: dict[str, Any]) -> Files:
    return {"/etc/nova/nova.conf": (nova_conf(data, controller=False), 0o640, "nova"),
            "/etc/nova/nova-compute.conf": (nova_compute_conf(), 0o640, "nova"),
            "/etc/neutron/plugins/ml2/openvswitch_agent.ini": (ovs_agent_ini(data), 0o644, "neutron"),
            "/etc/neutron/rootwrap.conf": (rootwrap_conf(), 0o644, "root")}


EFFECTS: dict[str, Callable[[dict[str, Any]], Files]] = {
    "primary-openstack-controller": controller_files,
    "openstack-controller": controller_files,
    "top-role-compute": compute_files,
}


def apply(task_id: str, host: Any, data: dict[str, Any]) -> list[str]:
    """Write the files of Fuel task `task_id` that the node lacks; returns the paths written."""
    effect = EFFECTS.get(task_id)
    if effect is None:
        return []
    written = []
    for path, (content, mode, group) in effect(data).items():
        if host.exists(path):
            continue
        host.write_file(path, content, mode=mode)
        host.run(["chgrp", group, path], check=False)
        written.append(path)
    return written
