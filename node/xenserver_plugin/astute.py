"""The node's deployment data (/etc/astute.yaml), parsed once into the values the tasks need.

`load()` reads the raw dict (the runner does it); `Node(data)` turns it into small named objects:
the plugin settings, the node's roles, its network endpoints (bridge -> address/CIDR), the management and
storage networks, the public VIP and TLS flag, Ceilometer, and the private NIC with its physnet.
"""
import socket
import struct

import six
import yaml

from xenserver_plugin import PLUGIN_NAME
from xenserver_plugin.errors import OperatorError

DEFAULT_PATH = "/etc/astute.yaml"
PRIVATE_BRIDGE = "br-prv"
# libyaml's safe loader when present (astute.yaml is large), else the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path=DEFAULT_PATH):
    """Read astute.yaml; a missing or unreadable file is an operator error."""
    try:
        with open(path) as stream:
            data = yaml.load(stream, Loader=SAFE_LOADER)
    except (IOError, OSError) as error:
        raise OperatorError(
            "Cannot read the node's deployment data %s: %s." % (path, error.strerror),
            "Run the task on a node deployed by Fuel, or pass --astute PATH.")
    except yaml.YAMLError as error:
        raise OperatorError(
            "The node's deployment data %s is not valid YAML (%s)." % (path, error),
            "Redeploy the node from Fuel so it gets a fresh astute.yaml.")
    if not isinstance(data, dict):
        raise OperatorError("The node's deployment data %s is empty." % path,
                            "Redeploy the node from Fuel so it gets a fresh astute.yaml.")
    return data


def plugin_settings(data):
    """The plugin's Settings-tab values; fails when the plugin is not enabled for this environment."""
    section = data.get(PLUGIN_NAME)
    if not isinstance(section, dict) or not (section.get("metadata") or {}).get("enabled", False):
        raise OperatorError(
            "The %s section is missing from astute.yaml: the plugin is not enabled in this environment."
            % PLUGIN_NAME,
            "Enable XenServer in the environment's Settings tab (Compute), enter the credentials "
            "and deploy the changes.")
    return section


# --- IPv4 arithmetic (no ipaddress module on the nodes' Python 2.7) -------------------------------------

def ip_to_int(address):
    return struct.unpack("!I", socket.inet_aton(address))[0]


def int_to_ip(value):
    return socket.inet_ntoa(struct.pack("!I", value))


def prefix_mask(prefixlen):
    return (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF if prefixlen else 0


def in_network(address, cidr):
    """Whether the dotted address lies in the network "a.b.c.d/nn"."""
    network, prefixlen = cidr.split("/")
    mask = prefix_mask(int(prefixlen))
    return ip_to_int(address) & mask == ip_to_int(network) & mask


class Endpoint(object):
    """An address of the node on one of its bridges, e.g. br-mgmt 192.168.0.8/24."""

    def __init__(self, bridge, cidr):
        address, _, prefixlen = cidr.partition("/")
        self.bridge = bridge
        self.address = address
        self.prefixlen = int(prefixlen or 32)

    @property
    def cidr(self):
        """The interface address with its prefix, "192.168.0.8/24"."""
        return "%s/%d" % (self.address, self.prefixlen)

    @property
    def network(self):
        """The network the address is in, "192.168.0.0/24" (real prefix, never assumed /24)."""
        return "%s/%d" % (int_to_ip(ip_to_int(self.address) & prefix_mask(self.prefixlen)), self.prefixlen)

    @property
    def netmask(self):
        return int_to_ip(prefix_mask(self.prefixlen))

    def __repr__(self):
        return "Endpoint(%r, %r)" % (self.bridge, self.cidr)


class Settings(object):
    """The plugin's Settings-tab values (the password in plain text, as Nailgun writes it)."""

    def __init__(self, username, password, install_xapi):
        self.username = username
        self.password = password
        self.install_xapi = install_xapi

    @classmethod
    def from_section(cls, section):
        username = section.get("username")
        password = section.get("password")
        for name, value in (("username", username), ("password", password)):
            if not value or not isinstance(value, six.string_types):
                raise OperatorError(
                    "The XenServer %s in the plugin's settings is empty." % name,
                    "Enter the XenServer host's root credentials in the environment's Settings tab (Compute, "
                    "XenServer Plugin) and deploy the changes.")
        return cls(username, password, bool(section.get("install_xapi", False)))

    def __repr__(self):
        # Never print the password.
        return "Settings(username=%r, install_xapi=%r)" % (self.username, self.install_xapi)


class Port(object):
    """An interface attached to a bridge by network_scheme (a NIC, a VLAN device on a NIC, or a bond)."""

    def __init__(self, name, bridge, nics, tagged):
        self.name = name
        self.bridge = bridge
        self.nics = nics          # the physical interfaces under it
        self.tagged = tagged      # a VLAN sub-interface

    def __repr__(self):
        return "Port(%r, bridge=%r, nics=%r)" % (self.name, self.bridge, self.nics)


def _base_nic(transformation):
    """The physical NIC under an add-port: eth1 for eth1.101 or {name: vlan101, vlan_dev: eth1}."""
    name = transformation["name"]
    if transformation.get("vlan_dev"):
        return transformation["vlan_dev"], True
    if "." in name:
        return name.split(".", 1)[0], True
    return name, bool(transformation.get("vlan_id"))


class NetworkScheme(object):
    """network_scheme: bridges, their addresses, the ports on them and the OVS patches between them."""

    def __init__(self, scheme):
        self.raw = scheme or {}
        self.endpoints = {}
        for bridge, spec in sorted((self.raw.get("endpoints") or {}).items()):
            addresses = spec.get("IP") if isinstance(spec, dict) else None
            if isinstance(addresses, list) and addresses:
                self.endpoints[bridge] = Endpoint(bridge, addresses[0])
        self.roles = dict(self.raw.get("roles") or {})
        self.interfaces = sorted(self.raw.get("interfaces") or {})
        self.ports = []
        self.patches = []
        bonds = {}
        for step in self.raw.get("transformations") or []:
            action = step.get("action")
            if action == "add-patch":
                self.patches.append(tuple(step.get("bridges") or ()))
            elif action == "add-bond":
                bonds[step["name"]] = list(step.get("interfaces") or ())
                if step.get("bridge"):
                    self.ports.append(Port(step["name"], step["bridge"], bonds[step["name"]], False))
            elif action == "add-port" and step.get("bridge"):
                nic, tagged = _base_nic(step)
                self.ports.append(Port(step["name"], step["bridge"], bonds.get(nic, [nic]), tagged))

    def endpoint(self, role):
        """The endpoint of a network role (e.g. "management"), or None when the role has no address here."""
        bridge = self.roles.get(role)
        return self.endpoints.get(bridge) if bridge else None

    def used_nics(self):
        """Physical NICs that carry a Fuel network (any port, bond member or VLAN parent)."""
        return sorted(set(nic for port in self.ports for nic in port.nics))

    def bridges_linked_to(self, bridge):
        """`bridge` and every bridge joined to it by OVS patches, in discovery order."""
        seen = [bridge]
        for current in seen:
            for pair in self.patches:
                if current in pair:
                    seen.extend(other for other in pair if other not in seen)
        return seen

    def private_port(self):
        """The port whose bridge chain leads to br-prv (directly, or through patches to br-aux/br-ex/...).

        br-prv may be patched to a bridge that also carries tagged networks (e.g. br-fw-admin holding
        enp0s3 with enp0s3.101 on br-mgmt): the untagged port on the chain is the private NIC.
        """
        chain = self.bridges_linked_to(PRIVATE_BRIDGE)
        ports = [port for bridge in chain for port in self.ports if port.bridge == bridge]
        untagged = [port for port in ports if not port.tagged]
        return (untagged or ports or [None])[0]


class Node(object):
    """What the tasks need from astute.yaml, parsed once."""

    def __init__(self, data):
        self.raw = data
        self.uid = str(data.get("uid", ""))
        roles = data.get("roles") or data.get("role") or []
        self.roles = [roles] if isinstance(roles, six.string_types) else list(roles)
        self.network = NetworkScheme(data.get("network_scheme"))
        self.management = self.network.endpoint("management")
        self.storage = self.network.endpoint("storage")
        vips = (data.get("network_metadata") or {}).get("vips") or {}
        self.public_vip = (vips.get("public") or {}).get("ipaddr") or data.get("public_vip")
        self.management_vip = (vips.get("management") or {}).get("ipaddr") or data.get("management_vip")
        public_ssl = data.get("public_ssl") or {}
        self.public_ssl = bool(public_ssl.get("services", False))
        self.public_hostname = public_ssl.get("hostname")
        self.ceilometer_enabled = bool((data.get("ceilometer") or {}).get("enabled", False))
        phys_nets = ((data.get("quantum_settings") or {}).get("L2") or {}).get("phys_nets") or {}
        self.private_physnet = next((name for name, net in sorted(phys_nets.items())
                                     if (net or {}).get("bridge") == PRIVATE_BRIDGE), None)
        port = self.network.private_port()
        self.private_nic = port.nics[0] if port and port.nics else None
        self.private_port = port.name if port else None

    @property
    def settings(self):
        """The plugin settings; OperatorError when the plugin section is missing or the credentials empty."""
        return Settings.from_section(plugin_settings(self.raw))

    def require_private_nic(self):
        """(nic, physnet) of the Neutron VLAN private network, or the operator error explaining why not."""
        if not self.private_nic or not self.private_physnet:
            raise OperatorError(
                "No private network NIC found in this node's network_scheme: no interface leads to %s "
                "and no Neutron physnet uses it." % PRIVATE_BRIDGE,
                "XenServer needs Neutron with VLAN segmentation: create the environment with Neutron VLAN "
                "and assign the Private network to one of the compute node's NICs in the Nodes tab.")
        return self.private_nic, self.private_physnet

    def require_management(self):
        """The management Endpoint (Nova's console address, the console forward), or the operator error."""
        if self.management is None:
            raise OperatorError(
                "This node has no management network address in its network_scheme.",
                "Assign the Management network to one of the compute node's interfaces in Fuel and redeploy.")
        return self.management
