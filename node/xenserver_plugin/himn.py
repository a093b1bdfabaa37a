"""The HIMN link: the compute VM's NIC on XenServer's host-internal management network (Dom0 = 169.254.0.1).

Finding it, in order: (a) a NIC that already holds a 169.254.0.0/16 address and reaches 169.254.0.1;
(b) the NIC whose MAC is xenstore's vm-data/himn_mac (written by XenCenter's HIMN tool); (c) a DHCP probe
of the NICs that have no address and carry no Fuel network. Then it is persisted as a DHCP interface that
never installs a default route, brought up, and 169.254.0.1 must answer.
"""
import fnmatch
import json
import logging
import os
import shutil
import socket
import tempfile
import time

from xenserver_plugin import files, system
from xenserver_plugin.astute import in_network, ip_to_int
from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)

DOM0_ADDRESS = "169.254.0.1"
LINK_LOCAL = "169.254.0.0/16"
XENSTORE_MAC_KEY = "vm-data/himn_mac"
INTERFACES_FILE = "/etc/network/interfaces"
INTERFACES_DIR = "/etc/network/interfaces.d"
NO_DEFAULT_ROUTE_HOOK = "/etc/dhcp/dhclient-enter-hooks.d/xenserver-himn"
DHCP_PROBE_SECONDS = 8
IFUP_SECONDS = 90
# Link kinds a NIC of the VM can have (veth: the lab's NICs); bridges, VLANs, bonds, OVS ports are not NICs.
NIC_KINDS = (None, "veth")

HIMN_TOOL_FIX = ("Check in XenCenter that the compute VM has the host internal management network attached "
                 "(the HIMN tool: right-click the VM, 'Manage internal management network'), and that no Fuel "
                 "network is assigned to that NIC in the Nodes tab.")

HOOK_TEXT = """# fuel-plugin-xenserver: a lease on XenServer's host-internal management network (169.254.0.0/16)
# never installs a default route; the node keeps the default route Fuel gave it.
case "$new_ip_address" in
    169.254.*) unset new_routers ;;
esac
"""


def ifcfg_path(nic):
    return os.path.join(INTERFACES_DIR, "ifcfg-%s" % nic)


def ifcfg_text(nic):
    return ("# HIMN: XenServer host-internal management network, Dom0 at %(dom0)s (fuel-plugin-xenserver).\n"
            "# DHCP without a default route: see %(hook)s.\n"
            "auto %(nic)s\n"
            "iface %(nic)s inet dhcp\n"
            "    post-up ip route del default via %(dom0)s dev %(nic)s 2>/dev/null || true\n"
            % {"nic": nic, "dom0": DOM0_ADDRESS, "hook": NO_DEFAULT_ROUTE_HOOK})


class Link(object):
    """A network interface as `ip` reports it."""

    def __init__(self, name, mac, addresses, kind=None, master=None, up=False, link_type="ether"):
        self.name = name
        self.mac = (mac or "").lower()
        self.addresses = list(addresses)   # IPv4 "a.b.c.d/nn"
        self.kind = kind
        self.master = master
        self.up = up
        self.link_type = link_type

    @property
    def link_local(self):
        """The interface's 169.254.0.0/16 address, if any."""
        return next((cidr for cidr in self.addresses if in_network(cidr.split("/")[0], LINK_LOCAL)), None)

    def __repr__(self):
        return "Link(%r, %r, %r)" % (self.name, self.mac, self.addresses)


class HimnLink(object):
    """The HIMN NIC once it is up: name, MAC and its 169.254/16 address."""

    def __init__(self, nic, mac, cidr):
        self.nic = nic
        self.mac = mac
        self.cidr = cidr

    @property
    def address(self):
        return self.cidr.split("/")[0]

    def __repr__(self):
        return "HimnLink(%r, %r, %r)" % (self.nic, self.mac, self.cidr)


def parse_ip_json(text):
    """Links from `ip -j -d addr show` (iproute2 4.13+)."""
    links = []
    for item in json.loads(text):
        addresses = ["%s/%s" % (a["local"], a["prefixlen"]) for a in item.get("addr_info", [])
                     if a.get("family") == "inet"]
        kind = (item.get("linkinfo") or {}).get("info_kind")
        links.append(Link(item["ifname"], item.get("address"), addresses, kind, item.get("master"),
                          "UP" in item.get("flags", []), item.get("link_type", "ether")))
    return links


def parse_ip_oneline(link_text, addr_text):
    """Links from `ip -o -d link show` and `ip -o -4 addr show` (iproute2 of Ubuntu 14.04, no JSON)."""
    addresses = {}
    for line in addr_text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "inet":
            addresses.setdefault(fields[1], []).append(fields[3])
    links = []
    kinds = ("vlan", "bridge", "bond", "openvswitch", "veth", "tun", "dummy", "macvlan", "vxlan", "gre", "team")
    for line in link_text.splitlines():
        head, _, rest = line.partition(": ")
        name_part, _, rest = rest.partition(": ")
        if not name_part:
            continue
        name = name_part.split("@")[0]
        flags = rest[rest.find("<") + 1:rest.find(">")].split(",") if "<" in rest else []
        tokens = rest.replace("\\", " ").split()
        value = dict(zip(tokens, tokens[1:]))
        link_type, mac = next(((t.split("/", 1)[1], tokens[i + 1]) for i, t in enumerate(tokens)
                               if t.startswith("link/") and i + 1 < len(tokens)), ("none", None))
        kind = next((t for t in tokens if t in kinds), None)
        links.append(Link(name, mac, addresses.get(name, []), kind, value.get("master"), "UP" in flags, link_type))
    return links


class LocalNetwork(object):
    """The node's network as commands see it; the unit tests replace it with a fake of the same methods."""

    def __init__(self, run_command=system.run):
        self.run_command = run_command

    def links(self):
        result = self.run_command(["ip", "-j", "-d", "addr", "show"], check=False)
        if result.returncode == 0 and result.out.strip().startswith("["):
            return parse_ip_json(result.out)
        link_text = self.run_command(["ip", "-o", "-d", "link", "show"]).out
        addr_text = self.run_command(["ip", "-o", "-4", "addr", "show"]).out
        return parse_ip_oneline(link_text, addr_text)

    def default_routes_via(self, gateway):
        """Devices holding a default route through `gateway`."""
        text = self.run_command(["ip", "-o", "-4", "route", "show", "default"]).out
        devices = []
        for line in text.splitlines():
            tokens = line.split()
            value = dict(zip(tokens, tokens[1:]))
            if tokens and tokens[0] == "default" and value.get("via") == gateway:
                devices.append(value.get("dev"))
        return devices

    def delete_default_route(self, gateway, device):
        self.run_command(["ip", "route", "del", "default", "via", gateway, "dev", device])

    def xenstore_read(self, key):
        """The xenstore value, or None when xenstore is not readable (not a Xen guest, key absent)."""
        try:
            result = self.run_command(["xenstore-read", key], check=False, timeout=10)
        except OperatorError:
            return None
        return result.out.strip() if result.ok and result.out.strip() else None

    def answers(self, nic, address=DOM0_ADDRESS, port=80, timeout=2.0):
        """Whether `address` accepts a TCP connection on `port` through `nic` (SO_BINDTODEVICE)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_BINDTODEVICE", 25), nic.encode("ascii"))
            sock.settimeout(timeout)
            sock.connect((address, port))
            return True
        except (socket.error, socket.timeout, OSError) as error:
            LOG.debug("%s:%d through %s: %s", address, port, nic, error)
            return False
        finally:
            sock.close()

    def dhcp_probe(self, nic, seconds=DHCP_PROBE_SECONDS):
        """One DHCP exchange on `nic` without configuring it; the lease is released. Returns "a.b.c.d/nn"|None."""
        workdir = tempfile.mkdtemp(prefix="xenserver-himn-probe.")
        conf, leases, pid = (os.path.join(workdir, name) for name in ("dhclient.conf", "leases", "pid"))
        with open(conf, "w") as stream:
            stream.write("timeout %d;\nretry 1;\ninitial-interval 1;\n" % seconds)
        common = ["-cf", conf, "-lf", leases, "-pf", pid, "-sf", "/bin/true", nic]
        was_up = next((link.up for link in self.links() if link.name == nic), False)
        try:
            if not was_up:
                self.run_command(["ip", "link", "set", "dev", nic, "up"])
            self.run_command(["dhclient", "-1"] + common, check=False, timeout=seconds + 10)
            lease = parse_lease(files.read(leases) or "")
            if lease is not None:
                # dhclient went to the background holding the lease; its pid file appears just after
                # the parent exits. `dhclient -r` reads it, sends DHCPRELEASE and stops the daemon.
                wait_for(lambda: os.path.exists(pid), 5.0)
                self.run_command(["dhclient", "-r"] + common, check=False, timeout=15)
            return lease
        finally:
            if not was_up:
                self.run_command(["ip", "link", "set", "dev", nic, "down"], check=False)
            shutil.rmtree(workdir, ignore_errors=True)

    def ifup(self, nic):
        result = self.run_command(["ifup", nic], check=False, timeout=IFUP_SECONDS)
        if not result.ok:
            LOG.warning("ifup %s failed: %s", nic, result.err.strip())
        return result.ok

    def ifdown(self, nic):
        self.run_command(["ifdown", nic], check=False, timeout=30)


def wait_for(condition, seconds, step=0.05):
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            return False
        time.sleep(step)
    return True


def parse_lease(text):
    """The last lease's address with its prefix from a dhclient lease file, e.g. "169.254.0.5/16"."""
    address = mask = None
    for line in text.splitlines():
        fields = line.strip().rstrip(";").split()
        if fields[:1] == ["lease"]:
            address = mask = None
        elif fields[:1] == ["fixed-address"] and len(fields) == 2:
            address = fields[1]
        elif fields[:2] == ["option", "subnet-mask"] and len(fields) == 3:
            mask = fields[2]
    if not address:
        return None
    prefixlen = bin(ip_to_int(mask)).count("1") if mask else 32
    return "%s/%d" % (address, prefixlen)


def sources_interfaces_d(text, nic):
    """Whether /etc/network/interfaces includes our ifcfg file (source glob or source-directory)."""
    path = ifcfg_path(nic)
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "source" and fnmatch.fnmatch(path, fields[1]):
            return True
        if len(fields) == 2 and fields[0] == "source-directory" and fields[1].rstrip("/") == INTERFACES_DIR:
            return True
    return False


class Himn(object):
    """Find, persist and bring up the HIMN link of one node."""

    def __init__(self, run, node, network=None, interfaces_file=None):
        self.run = run
        self.node = node
        self.net = network or LocalNetwork()
        self.interfaces_file = interfaces_file or INTERFACES_FILE  # read at call time: tests re-point it
        self.tried = []

    # --- finding the NIC ------------------------------------------------------------------------------
    def find(self, links):
        """(link, how) of the HIMN NIC, probing by DHCP if needed; None in a dry run that would probe."""
        for link in sorted((lnk for lnk in links if lnk.link_local), key=lambda lnk: lnk.name):
            if self.net.answers(link.name):
                return link, "holds %s and %s answers" % (link.link_local, DOM0_ADDRESS)
            self.tried.append("%s (has %s but %s does not answer)" % (link.name, link.link_local, DOM0_ADDRESS))
        mac = self.net.xenstore_read(XENSTORE_MAC_KEY)
        if mac:
            link = next((lnk for lnk in links if lnk.mac == mac.lower()), None)
            if link is None:
                self.tried.append("xenstore %s=%s (no NIC has that MAC)" % (XENSTORE_MAC_KEY, mac))
            elif self.probe(link, required=True):
                return link, "MAC %s from xenstore %s" % (mac, XENSTORE_MAC_KEY)
            else:
                return None
        candidates = self.candidates(links)
        if not candidates and not self.tried:
            self.tried.append("no NIC without address and Fuel network to probe")
        for link in candidates:
            if self.probe(link, required=False):
                return link, "answered DHCP from %s" % LINK_LOCAL
        if self.run.dry_run and candidates:
            return None
        raise OperatorError(
            "Cannot find the XenServer host-internal management network (HIMN) on this node; tried: %s."
            % "; ".join(self.tried), HIMN_TOOL_FIX)

    def candidates(self, links):
        """NICs worth a DHCP probe: Ethernet, no IPv4 address, not enslaved, no Fuel network on them."""
        fuel = set(self.node.network.used_nics()) | set(self.node.network.endpoints)
        return [link for link in sorted(links, key=lambda lnk: lnk.name)
                if link.link_type == "ether" and not link.addresses and link.master is None
                and link.kind in NIC_KINDS and link.name not in fuel and link.name != "ovs-system"
                and not link.name.startswith("br-")]

    def probe(self, link, required):
        """DHCP on a NIC: True when it answers from 169.254/16. A dry run only says it would probe."""
        if link.link_local:
            return True
        if self.run.dry_run:
            self.run.ensure("probe %s by DHCP for the HIMN (%s)" % (link.name, LINK_LOCAL), False, lambda: None)
            return False
        lease = self.net.dhcp_probe(link.name)
        if lease is None:
            self.tried.append("%s (no DHCP answer in %d s)" % (link.name, DHCP_PROBE_SECONDS))
            if required:
                raise OperatorError(
                    "The HIMN NIC %s (MAC %s, from xenstore) got no DHCP answer from XenServer; tried: %s."
                    % (link.name, link.mac, "; ".join(self.tried)), HIMN_TOOL_FIX)
            return False
        if not in_network(lease.split("/")[0], LINK_LOCAL):
            self.tried.append("%s (DHCP answered %s, outside %s)" % (link.name, lease, LINK_LOCAL))
            if required:
                raise outside_error(link.name, lease, self.tried)
            return False
        return True

    # --- making it persistent and up -------------------------------------------------------------------
    def ensure(self):
        """The HIMN NIC is persisted, up, without default route, and Dom0 answers. None: dry run, not up yet."""
        links = self.net.links()
        found = self.find(links)
        if found is None:
            self.run.ensure("persist the HIMN NIC in %s and bring it up" % INTERFACES_DIR, False, lambda: None)
            return None
        link, how = found
        LOG.info("HIMN NIC is %s (%s)", link.name, how)
        mark = len(self.run.changes)
        undo = []
        self.ensure_file(NO_DEFAULT_ROUTE_HOOK, HOOK_TEXT, 0o644, undo)
        self.ensure_file(ifcfg_path(link.name), ifcfg_text(link.name), 0o644, undo)
        self.ensure_sourced(link.name, undo)
        files_changed = self.run.changed_since(mark)
        up = link.link_local and not files_changed
        self.run.ensure("HIMN NIC %s is up with a %s address" % (link.name, LINK_LOCAL), up,
                        lambda: self.bring_up(link.name, undo))
        if self.run.dry_run and not up:
            return None
        for device in self.net.default_routes_via(DOM0_ADDRESS):
            self.run.ensure("no default route via %s (dev %s)" % (DOM0_ADDRESS, device), False,
                            lambda device=device: self.net.delete_default_route(DOM0_ADDRESS, device))
        current = next((lnk for lnk in self.net.links() if lnk.name == link.name), link)
        if not current.link_local:
            # an address outside 169.254/16 on the HIMN NIC: the DHCP server is not XenServer's
            raise outside_error(link.name, ", ".join(current.addresses) or "no address", self.tried + [link.name])
        return HimnLink(link.name, current.mac, current.link_local)

    def ensure_file(self, path, text, mode, undo):
        """A file of ours; remembers how to undo its creation should the link not come up."""
        existed = os.path.exists(path)
        if files.ensure_file(self.run, path, text, mode) and not existed:
            undo.append(lambda: os.unlink(path))

    def ensure_sourced(self, nic, undo):
        """/etc/network/interfaces reads interfaces.d (Fuel's nodes do; a hand-made one might not)."""
        text = files.read(self.interfaces_file)
        if text is not None and sources_interfaces_d(text, nic):
            return
        new_text = (text or "") + ("" if not text or text.endswith("\n") else "\n") + "source %s/*\n" % INTERFACES_DIR

        def restore():
            if text is None:
                os.unlink(self.interfaces_file)
            else:
                files.write_atomic(self.interfaces_file, text, 0o644)
        if self.run.ensure("%s includes %s/*" % (self.interfaces_file, INTERFACES_DIR), False,
                           lambda: files.write_atomic(self.interfaces_file, new_text, 0o644)):
            undo.append(restore)

    def bring_up(self, nic, undo):
        """ifdown/ifup the NIC and check Dom0 answers; on failure undo this run's files (nothing half-done)."""
        self.net.ifdown(nic)
        ifup_ok = self.net.ifup(nic)
        link = next((lnk for lnk in self.net.links() if lnk.name == nic), None)
        addresses = link.addresses if link is not None else []
        if ifup_ok and link is not None and link.link_local and self.net.answers(nic):
            return
        self.net.ifdown(nic)
        for action in reversed(undo):
            action()
        tried = self.tried + [nic]
        outside = [cidr for cidr in addresses if not in_network(cidr.split("/")[0], LINK_LOCAL)]
        if outside:
            raise outside_error(nic, ", ".join(outside), tried)
        if not ifup_ok or not addresses:
            raise OperatorError(
                "ifup %s got no DHCP lease from XenServer's host-internal management network; tried: %s."
                % (nic, "; ".join(tried)), HIMN_TOOL_FIX)
        raise OperatorError(
            "The HIMN NIC %s came up with %s but XenServer's %s does not answer on port 80; tried: %s."
            % (nic, ", ".join(addresses), DOM0_ADDRESS, "; ".join(tried)),
            HIMN_TOOL_FIX + " Also check that XAPI runs on the host (xe host-list in Dom0).")


def outside_error(nic, address, tried):
    return OperatorError(
        "The DHCP server on %s answered %s, outside XenServer's host-internal management network %s: "
        "this NIC is not the HIMN (tried: %s)." % (nic, address, LINK_LOCAL, "; ".join(tried)),
        HIMN_TOOL_FIX)


def ensure_himn(run, node, network=None):
    """Module-level entry point: the HimnLink, or None in a dry run before the link exists."""
    return Himn(run, node, network).ensure()
