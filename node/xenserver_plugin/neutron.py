"""The Neutron OVS agent on the compute VM drives Dom0's Open vSwitch (step 9 of the compute task).

The agent's commands go through neutron-rootwrap-xen-dom0 -> XenAPI -> the `netwrap` Dom0 plugin; the
private physnet maps to the Dom0 bridge of the XenServer network behind the compute VM's private NIC.
"""
from xenserver_plugin import dom0_files, himn, ini, services, system
from xenserver_plugin.dom0 import DOM0_URL, XENSERVER_7_PLATFORM
from xenserver_plugin.errors import OperatorError

ROOTWRAP_CONF = "/etc/neutron/rootwrap.conf"
OVS_AGENT_INI = "/etc/neutron/plugins/ml2/openvswitch_agent.ini"
GROUP = "neutron"
SERVICE = "neutron-openvswitch-agent"
ROOT_HELPER = "neutron-rootwrap-xen-dom0 %s" % ROOTWRAP_CONF
SECRETS = (("xenapi", "xenapi_connection_password"),)
MODPROBE_DIR = "/etc/modprobe.d"
BRIDGE_BLACKLIST_PREFIX = "blacklist-bridge"


def ether_mac(link):
    """The Ethernet MAC of a himn.Link (lower case), or None for a loopback, tunnel or other non-Ethernet link."""
    return (link.mac or None) if link.link_type == "ether" else None


def nic_mac(nic, network=None):
    """The MAC of the NIC, from the links as himn.LocalNetwork sees them."""
    network = network or himn.LocalNetwork(system.run)
    mac = next((ether_mac(link) for link in network.links() if link.name == nic), None)
    if not mac:
        raise OperatorError(
            "The private network NIC %s named by this node's network_scheme does not exist here." % nic,
            "Check the compute node's interface assignment in Fuel (Nodes tab, Configure interfaces) "
            "against the compute VM's NICs in XenCenter, then redeploy.")
    return mac


def dom0_bridge_for_mac(xenapi, mac):
    """The Dom0 bridge of the XenServer network whose VIF has this MAC (the attached VIF wins over
    copies of the same MAC on snapshots or halted clones)."""
    records = xenapi.VIF.get_all_records()
    matches = [record for record in records.values() if (record.get("MAC") or "").lower() == mac.lower()]
    if not matches:
        raise OperatorError(
            "No VIF with the MAC %s of this node's private network NIC exists on the XenServer host." % mac,
            "Give the compute VM a NIC on the XenServer network that carries the private (VLAN) traffic and "
            "assign the Private network to that NIC in Fuel.")
    matches.sort(key=lambda record: not record.get("currently_attached", False))
    return xenapi.network.get_bridge(matches[0]["network"])


def rootwrap_options(settings):
    return [
        ("xenapi", "xenapi_connection_url", DOM0_URL),
        ("xenapi", "xenapi_connection_username", settings.username),
        ("xenapi", "xenapi_connection_password", settings.password),
    ]


def agent_options(physnet, dom0_bridge):
    return [
        ("agent", "root_helper", ROOT_HELPER),
        ("agent", "root_helper_daemon", ""),
        ("agent", "minimize_polling", "False"),
        ("ovs", "integration_bridge", "br-int"),
        ("ovs", "bridge_mappings", "%s:%s" % (physnet, dom0_bridge)),
    ]


def ensure_linux_bridge_allowed(run, dom0):
    """XenServer 6.5 blacklists the Linux bridge module in Dom0; the agent's hybrid firewall needs it."""
    if tuple(dom0.platform_version) >= XENSERVER_7_PLATFORM:
        return
    listing = dom0.ssh(["ls", "-1", MODPROBE_DIR], check=False).out
    for name in sorted(listing.split()):
        if name.startswith(BRIDGE_BLACKLIST_PREFIX):
            dom0_files.ensure_absent(run, dom0, "%s/%s" % (MODPROBE_DIR, name),
                                     "Dom0 allows Linux bridges (%s/%s removed)" % (MODPROBE_DIR, name))


def private_dom0_bridge(dom0, private_nic):
    """The Dom0 bridge behind the compute VM's private NIC (found before any change: nothing half-done)."""
    return dom0_bridge_for_mac(dom0.xenapi.xenapi, nic_mac(private_nic))


def ensure(run, dom0, settings, physnet, bridge):
    mark = len(run.changes)
    ini.ensure_options(run, ROOTWRAP_CONF, rootwrap_options(settings), mode=0o640, group=GROUP,
                       secrets=SECRETS, service="neutron-rootwrap-xen-dom0")
    ini.ensure_options(run, OVS_AGENT_INI, agent_options(physnet, bridge), service=SERVICE)
    ensure_linux_bridge_allowed(run, dom0)
    services.restart_if_changed(run, mark, SERVICE)
    return bridge
