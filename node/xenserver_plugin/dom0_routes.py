"""Routes in Dom0 to the storage and management networks, through the compute VM on the HIMN.

Applied now over SSH, and persisted on the Dom0 side: the HIMN bridge `xenapi` exists only while a VM
is attached to it, so a udev rule runs our script each time the bridge appears (Dom0 reboot, compute VM
restart, VIF re-plug) and the script puts the routes back.
"""
from xenserver_plugin import dom0_files

HIMN_BRIDGE = "xenapi"
SCRIPT_PATH = "/etc/udev/scripts/fuel-xenserver-routes.sh"
UDEV_RULE_PATH = "/etc/udev/rules.d/90-fuel-xenserver-routes.rules"


def parse_routes(ip_o_output):
    """{destination: gateway} from `ip -o -4 route show dev xenapi` (direct routes have gateway None)."""
    routes = {}
    for line in ip_o_output.splitlines():
        fields = line.split()
        if not fields:
            continue
        gateway = fields[fields.index("via") + 1] if "via" in fields else None
        routes[fields[0]] = gateway
    return routes


def current_routes(dom0):
    return parse_routes(dom0.ssh(["ip", "-o", "-4", "route", "show", "dev", HIMN_BRIDGE]).out)


def script_text(networks, via):
    """The Dom0 script: wait (in the background, udev must not block) for xenapi's address, then route."""
    lines = [
        "#!/bin/sh",
        "# Routes from Dom0 to the OpenStack storage/management networks through the compute VM",
        "# (fuel-plugin-xenserver). Run by udev when the HIMN bridge %s appears; safe to run by hand."
        % HIMN_BRIDGE,
        'if [ "$1" != "--now" ]; then',
        '    setsid "$0" --now </dev/null >/dev/null 2>&1 &',
        "    exit 0",
        "fi",
        "i=0",
        "while [ $i -lt 60 ]; do",
        "    if ip -o -4 addr show dev %s | grep -q ' inet '; then" % HIMN_BRIDGE,
    ]
    lines += ["        ip route replace %s via %s dev %s" % (network, via, HIMN_BRIDGE) for network in networks]
    lines += [
        "        exit 0",
        "    fi",
        "    i=$((i + 1))",
        "    sleep 2",
        "done",
        "exit 1",
    ]
    return "\n".join(lines) + "\n"


def udev_rule_text():
    return ('# fuel-plugin-xenserver: restore the routes through the compute VM when the HIMN bridge appears\n'
            'ACTION=="add", SUBSYSTEM=="net", KERNEL=="%s", RUN+="%s"\n' % (HIMN_BRIDGE, SCRIPT_PATH))


def ensure(run, dom0, networks, via):
    """Dom0 routes each network ("a.b.c.d/nn", real prefixes) via the compute VM's HIMN address."""
    routes = current_routes(dom0)
    for network in networks:
        run.ensure("Dom0 routes %s via the compute VM (%s dev %s)" % (network, via, HIMN_BRIDGE),
                   routes.get(network) == via,
                   lambda network=network: dom0.ssh(["ip", "route", "replace", network, "via", via,
                                                     "dev", HIMN_BRIDGE]))
    dom0_files.ensure_file(run, dom0, SCRIPT_PATH, script_text(networks, via), 0o755,
                           "Dom0 %s restores the routes" % SCRIPT_PATH)
    dom0_files.ensure_file(run, dom0, UDEV_RULE_PATH, udev_rule_text(), 0o644,
                           "Dom0 %s runs it when %s appears" % (UDEV_RULE_PATH, HIMN_BRIDGE))
