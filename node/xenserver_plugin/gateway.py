"""The compute VM as Dom0's NAT gateway, and the console forward to Dom0.

Dom0 reaches the storage and management networks (e.g. to download the first image from Glance) through
its compute VM over the HIMN: IP forwarding, MASQUERADE out of the Fuel bridges, FORWARD both ways and
INPUT from the HIMN NIC. Controllers reach Dom0's console (port 80) at the compute VM's management
address. Rules are checked with `iptables -C` (never added twice) and saved where the node's iptables
persistence (iptables-persistent) restores them at boot.
"""
import os
import re

from xenserver_plugin import astute, files, himn, system
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.himn import DOM0_ADDRESS, LINK_LOCAL

CONSOLE_PORT = "80"
IP_FORWARD_PROC = "/proc/sys/net/ipv4/ip_forward"
SYSCTL_CONF = "/etc/sysctl.conf"
RULES_V4 = "/etc/iptables/rules.v4"
PERSISTENCE_TOOLS = ("/etc/init.d/iptables-persistent", "/usr/sbin/netfilter-persistent")

_IP_FORWARD_LINE = re.compile(r"^\s*net\.ipv4\.ip_forward\s*=.*$", re.MULTILINE)


def find_himn_link(network=None):
    """The himn.HimnLink of the interface holding an address in 169.254.0.0/16 (the pre-deployment task
    brought it up), read from the links as himn.LocalNetwork sees them."""
    network = network or himn.LocalNetwork(system.run)
    for link in network.links():
        for cidr in link.addresses:
            address = cidr.split("/")[0]
            if astute.in_network(address, LINK_LOCAL) and address != DOM0_ADDRESS:
                return himn.HimnLink(link.name, link.mac, cidr)
    raise OperatorError(
        "No interface of this compute node has an address on the XenServer host-internal management "
        "network (%s)." % LINK_LOCAL,
        "Run the compute pre-deployment task first (it brings up the HIMN NIC), and check in XenCenter "
        "that the compute VM has the HIMN attached (the HIMN tool).")


class Rule(object):
    """One iptables rule, spelled exactly as `iptables-save` prints it (so the saved file can be checked)."""

    def __init__(self, table, chain, spec, insert=False):
        self.table = table
        self.chain = chain
        self.spec = list(spec)
        self.insert = insert  # ahead of Fuel's final DROP in INPUT / FORWARD

    def save_line(self):
        return "-A %s %s" % (self.chain, " ".join(self.spec))

    def argv(self, action):
        return ["iptables", "-w", "-t", self.table, action, self.chain] + self.spec

    def __repr__(self):
        return "Rule(%s: %s)" % (self.table, self.save_line())


def gateway_rules(himn_nic, bridges):
    """Dom0 -> storage/management networks: NAT out of each bridge, forwarding both ways, HIMN input."""
    rules = []
    for bridge in bridges:
        rules.append(Rule("nat", "POSTROUTING", ["-o", bridge, "-j", "MASQUERADE"]))
        rules.append(Rule("filter", "FORWARD", ["-i", himn_nic, "-o", bridge, "-j", "ACCEPT"], insert=True))
        rules.append(Rule("filter", "FORWARD", ["-i", bridge, "-o", himn_nic, "-m", "state", "--state",
                                                "RELATED,ESTABLISHED", "-j", "ACCEPT"], insert=True))
    rules.append(Rule("filter", "INPUT", ["-i", himn_nic, "-j", "ACCEPT"], insert=True))
    return rules


def console_rules(himn_nic, management):
    """management address:80 -> Dom0's console 169.254.0.1:80 (the noVNC proxy connects there)."""
    return [
        Rule("nat", "PREROUTING", ["-d", "%s/32" % management.address, "-i", management.bridge, "-p", "tcp",
                                   "-m", "tcp", "--dport", CONSOLE_PORT, "-j", "DNAT", "--to-destination",
                                   "%s:%s" % (DOM0_ADDRESS, CONSOLE_PORT)]),
        Rule("filter", "FORWARD", ["-d", "%s/32" % DOM0_ADDRESS, "-i", management.bridge, "-o", himn_nic,
                                   "-p", "tcp", "-m", "tcp", "--dport", CONSOLE_PORT, "-j", "ACCEPT"],
             insert=True),
    ]


def rule_present(rule):
    result = system.run(rule.argv("-C"), check=False)
    if result.returncode == 0:
        return True
    if result.returncode == 1:
        return False
    raise RuntimeError("iptables -C failed (%d): %s" % (result.returncode, result.err.strip()))


def ensure_rule(run, rule):
    action = "-I" if rule.insert else "-A"
    return run.ensure("iptables %s: %s" % (rule.table, rule.save_line()), rule_present(rule),
                      lambda: system.run(rule.argv(action)))


def rule_key(line):
    """A rule line compared by its words, so a different option order in another iptables version matches."""
    return tuple(sorted(line.split()))


def saved_rules(text):
    """{table: set(rule keys)} of an iptables-save file."""
    tables = {}
    table = None
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = tables.setdefault(line[1:], set())
        elif line.startswith("-A ") and table is not None:
            table.add(rule_key(line))
    return tables


def live_rules_text():
    """`iptables-save` without its timestamp comments, ready for rules.v4."""
    output = system.run(["iptables-save"]).out
    return "".join(line + "\n" for line in output.splitlines() if not line.startswith("#"))


def save_rules():
    """Save the live rules the way the node restores them at boot: iptables-persistent (Ubuntu 14.04) or
    netfilter-persistent when installed, else iptables-save into rules.v4 ourselves."""
    for tool in PERSISTENCE_TOOLS:
        if os.path.exists(tool):
            system.run([tool, "save"])
            return
    files.write_atomic(RULES_V4, live_rules_text(), 0o640)


def ensure_saved(run, rules):
    """rules.v4 (restored at boot by iptables-persistent) holds every rule of ours."""
    saved = saved_rules(files.read(RULES_V4))
    missing = [rule for rule in rules if rule_key(rule.save_line()) not in saved.get(rule.table, set())]
    return run.ensure("%s saves the gateway and console rules (%d missing)" % (RULES_V4, len(missing)),
                      not missing, save_rules)


def ip_forward_now():
    return (files.read(IP_FORWARD_PROC) or "").strip() == "1"


def sysctl_conf_with_forwarding(text):
    """sysctl.conf with every active net.ipv4.ip_forward line set to 1 (one appended if none)."""
    text = text or ""
    if _IP_FORWARD_LINE.search(text):
        return _IP_FORWARD_LINE.sub("net.ipv4.ip_forward = 1", text)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "# Dom0 reaches the storage and management networks through this node (XenServer plugin)\n" \
                  "net.ipv4.ip_forward = 1\n"


def ensure_ip_forward(run):
    run.ensure("IPv4 forwarding enabled now (net.ipv4.ip_forward = 1)", ip_forward_now(),
               lambda: system.run(["sysctl", "-w", "net.ipv4.ip_forward=1"]))
    wanted = sysctl_conf_with_forwarding(files.read(SYSCTL_CONF))
    files.ensure_file(run, SYSCTL_CONF, wanted, files.mode_of(SYSCTL_CONF) or 0o644,
                      what="%s enables IPv4 forwarding at boot" % SYSCTL_CONF)


def ensure(run, himn, management, storage):
    """Forwarding, NAT, console forward and their persistence; management/storage are astute Endpoints.

    management is required (the task checked it with Node.require_management); storage may be None.
    """
    bridges = []
    for endpoint in (storage, management):
        if endpoint is not None and endpoint.bridge not in bridges:
            bridges.append(endpoint.bridge)
    ensure_ip_forward(run)
    rules = gateway_rules(himn.nic, bridges) + console_rules(himn.nic, management)
    for rule in rules:
        ensure_rule(run, rule)
    ensure_saved(run, rules)
    return rules
