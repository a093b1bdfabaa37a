"""A XenServer Dom0 lab host: the HIMN bridge, its DHCP server, sshd, the XenAPI server (C1) and xe."""
from __future__ import annotations

from pyroute2 import NetNS

from lab.host import LabHost
from lab.paths import FILES, REPO, node_python, tooling_python
from lab.spec import HIMN_ADDRESS, HostSpec, himn_segment
from lab.xenserver.config import HIMN_BRIDGE

HOST_JSON = "/etc/lab-xenserver/host.json"
STATE_JSON = "/var/lib/lab-xenserver/state.json"
PLUGINS_DIR = "/etc/xapi.d/plugins"
UDHCPD_CONF = "/etc/udhcpd.conf"
SERVICE_TIMEOUT = 20.0


def default_xenserver(dom0: HostSpec, compute_vms: list[HostSpec]):
    """XenServer's defaults for a Dom0 spec without a HostConfig (C1): its compute VM(s) with their HIMN VIF."""
    from lab.xenserver.config import HostConfig

    vms = [vm for vm in compute_vms if (nic := vm.himn_nic()) is not None and nic.segment == himn_segment(dom0.name)]
    config = HostConfig.default(dom0.name, password=dom0.root_password,
                                compute_vm_vifs=[("0", vms[0].himn_nic().mac, HIMN_BRIDGE)] if vms else [],
                                compute_vm_name=vms[0].name if vms else None)
    return config


def himn_gateway(config) -> bool:
    """XenServer's HIMN DHCP hands out Dom0 as the default gateway unless the network says ip_disable_gw."""
    network = config.network_by_bridge(HIMN_BRIDGE)
    return not (network and network.other_config.get("ip_disable_gw") == "true")


def xenapi_server_available() -> bool:
    return (REPO / "lab" / "xenserver" / "server.py").exists()


def setup_dom0(host: LabHost, spec: HostSpec, hostname: str) -> None:
    """Files and network of a Dom0; the services start with start_services()."""
    config = spec.xenserver
    _himn_bridge(host, spec)
    host.run(["/bin/sh", str(FILES / "dom0-setup.sh"), str(FILES), hostname, str(node_python("2.7"))])
    release = f"XenServer release {config.product_version}-{config.release.build_number} (xenenterprise)\n"
    host.write_files({
        "/etc/xensource-inventory": inventory(config),
        "/etc/redhat-release": release,
        HOST_JSON: (config.to_json(), 0o600),
        "/usr/bin/xe": (xe_wrapper(""), 0o755),
        "/usr/bin/xe-install-supplemental-pack": (xe_wrapper(" install-supplemental-pack"), 0o755),
        UDHCPD_CONF: udhcpd_conf(spec.dhcp_range, gateway=himn_gateway(config)),
    })
    if spec.root_password:
        # the password reaches /etc/shadow through chpasswd's stdin only
        host.run(["chpasswd"], input=f"root:{spec.root_password}\n")


def start_services(host: LabHost, spec: HostSpec) -> None:
    """Start DHCP, sshd and the XenAPI server in Dom0 and wait until each listens."""
    waits = [(host.spawn(["udhcpd", "-f", UDHCPD_CONF], host.log_dir / "udhcpd.log"), "udp", 67, "udhcpd"),
             (host.spawn(["/usr/sbin/sshd", "-D", "-e"], host.log_dir / "sshd.log"), "tcp", 22, "sshd")]
    if xenapi_server_available():
        argv = [str(tooling_python()), "-m", "lab.xenserver.server", "--config", HOST_JSON, "--state", STATE_JSON,
                "--listen", "0.0.0.0:80", "--dom0-python", str(node_python("2.7")), "--plugins-dir", PLUGINS_DIR]
        pid = host.spawn(argv, host.log_dir / "xenapi.log", env={"PYTHONPATH": str(REPO)})
        waits.append((pid, "tcp", 80, "xenapi"))
    for pid, proto, port, name in waits:
        host.wait_listening(port, name, SERVICE_TIMEOUT, proto, {pid: host.log_dir / f"{name}.log"})


def _himn_bridge(host: LabHost, spec: HostSpec) -> None:
    himn = spec.himn_nic()
    assert himn is not None  # validated
    with NetNS(host.netns) as ns:
        ns.link("add", ifname=HIMN_BRIDGE, kind="bridge", br_stp_state=0, br_forward_delay=0)
        bridge = ns.link_lookup(ifname=HIMN_BRIDGE)[0]
        ns.addr("add", index=bridge, address=HIMN_ADDRESS, prefixlen=16)
        ns.link("set", index=ns.link_lookup(ifname=himn.name)[0], master=bridge)
        ns.link("set", index=bridge, state="up")


def xe_wrapper(extra_args: str) -> str:
    return (f"#!/bin/sh\n# lab: xe talks to this Dom0's XenAPI server (lab.xenserver)\n"
            f"PYTHONPATH={REPO} exec {tooling_python()} -m lab.xenserver.xe{extra_args} \"$@\"\n")


def udhcpd_conf(dhcp_range: tuple[str, str, str], gateway: bool = True) -> str:
    start, end, netmask = dhcp_range
    router = [f"option router {HIMN_ADDRESS}"] if gateway else []
    return "\n".join([
        "# HIMN DHCP as XenServer serves it: leases on the xenapi bridge, Dom0 as the router",
        f"start {start}", f"end {end}", f"interface {HIMN_BRIDGE}", "max_leases 254",
        f"option subnet {netmask}", *router, "option lease 86400",
        "lease_file /var/lib/misc/udhcpd.leases", "pidfile /run/udhcpd.pid", ""])


def inventory(config) -> str:
    """/etc/xensource-inventory as XenServer writes it."""
    release = config.release
    values = {
        "PRODUCT_BRAND": "XenServer", "PRODUCT_NAME": "xenenterprise",
        "PRODUCT_VERSION": config.product_version, "PRODUCT_VERSION_TEXT": release.product_version_text,
        "PRODUCT_VERSION_TEXT_SHORT": release.product_version_text, "PLATFORM_NAME": "XCP",
        "PLATFORM_VERSION": release.platform_version, "BUILD_NUMBER": release.build_number,
        "INSTALLATION_DATE": release.date, "INSTALLATION_UUID": config.uuid,
        "CONTROL_DOMAIN_UUID": config.control_domain_uuid,
        "MANAGEMENT_INTERFACE": "xenbr0", "MANAGEMENT_ADDRESS_TYPE": "IPv4",
        "DOM0_VCPUS": "4", "DOM0_MEM": "4096",
    }
    return "".join(f"{key}='{value}'\n" for key, value in values.items())


def dom0_hostname(spec: HostSpec) -> str:
    config = spec.xenserver
    return getattr(config, "hostname", None) or spec.name

