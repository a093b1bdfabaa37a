"""Each verify check proven both ways in a real lab: it fails on an undeployed lab, and passes once the
test makes by hand the change the plugin is meant to make (address, route + NAT, port forward, config)."""
import pytest

from lab import verify
from tests.lab.fuel.conftest import needs_root

pytestmark = [pytest.mark.lab, needs_root]
COMPUTE, DOM0, CONTROLLER, CINDER = "node-12", "xs-12", "node-9", "node-15"
COMPUTE_MGMT, COMPUTE_STORAGE = "192.168.0.8", "192.168.1.6"
HIMN_IP = "169.254.0.2"


def check(small_lab, which):
    """Run one check of `verify` (the same functions `python -m lab verify` runs) for the compute node."""
    lab, fuel = small_lab
    node = fuel.node(COMPUTE)
    if which == "HIMN":
        return verify.himn(lab, node)
    if which in ("storage", "management"):
        probe = next(p for p in fuel.probes if p.network == which)
        return verify.dom0_reaches(lab, fuel, node, probe)
    if which == "console":
        return verify.console(lab, fuel, node)
    return next(c for c in verify.compute_config(lab, node) if which in c.name)


def test_lab_nodes_networks_as_fuel_made_them(small_lab):
    lab, fuel = small_lab
    compute = lab.host(COMPUTE)
    addrs = compute.run(["ip", "-o", "-4", "addr", "show"]).stdout
    assert f"br-mgmt    inet {COMPUTE_MGMT}/24" in " ".join(addrs.split("\n")).replace("  ", " ") or \
        f"{COMPUTE_MGMT}/24" in addrs
    assert "master br-mgmt" in compute.run(["ip", "-o", "link", "show", "eth1.101"]).stdout
    assert "master br-aux" in compute.run(["ip", "-o", "link", "show", "eth2"]).stdout
    # the cinder node answers on the storage VLAN, not on the management one with a storage address
    assert compute.run(["curl", "-s", "-m", "3", "http://192.168.1.4:8080/"]).stdout.find(COMPUTE_STORAGE) > 0
    astute = compute.read_file("/etc/astute.yaml")
    assert "fuel-plugin-xenserver" in astute
    assert compute.run(["stat", "-c", "%a", "/etc/astute.yaml"]).stdout.strip() == "600"
    assert compute.exists("/etc/fuel/plugins/fuel-plugin-xenserver-4.0/compute_pre_test.py")


def test_vips_answer_on_the_primary_controller(small_lab):
    lab, _ = small_lab
    assert "192.168.0.14/24" in lab.host(CONTROLLER).run(["ip", "-o", "addr", "show", "br-mgmt"]).stdout
    probe = ("import socket; s = socket.socket(); s.settimeout(3); "
             "print(s.connect_ex(('192.168.0.14', 9)))")  # ECONNREFUSED (111): the VIP's host answered
    assert lab.host(COMPUTE).run(["python", "-c", probe]).stdout.strip() == "111"


def test_checks_fail_on_an_undeployed_lab(small_lab):
    for name in ("HIMN", "storage", "management", "console", "nova-compute.conf"):
        result = check(small_lab, name)
        assert not result.ok, result
        assert result.measured


def test_himn_check_passes_once_the_vm_has_a_himn_address(small_lab):
    lab, _ = small_lab
    assert "no address" in check(small_lab, "HIMN").measured
    lab.host(COMPUTE).run(["ip", "addr", "add", f"{HIMN_IP}/16", "dev", "eth3"])
    result = check(small_lab, "HIMN")
    assert result.ok, result
    assert "SESSION_INVALID" in result.measured and HIMN_IP in result.measured


@pytest.mark.parametrize("network, net, bridge, client", [
    ("storage", "192.168.1.0/24", "br-storage", COMPUTE_STORAGE),
    ("management", "192.168.0.0/24", "br-mgmt", COMPUTE_MGMT)])
def test_dom0_reaches_network_only_through_the_compute_vm(small_lab, network, net, bridge, client):
    lab, _ = small_lab
    lab.host(COMPUTE).run(["ip", "addr", "replace", f"{HIMN_IP}/16", "dev", "eth3"])
    assert "no route" in check(small_lab, network).measured
    lab.host(DOM0).run(["ip", "route", "add", net, "via", HIMN_IP])
    lab.host(COMPUTE).run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    # routed but not NATed: the server has no way back to 169.254/16, so still no answer
    assert not check(small_lab, network).ok
    lab.host(COMPUTE).run(["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", bridge, "-j", "MASQUERADE"])
    result = check(small_lab, network)
    assert result.ok, result
    assert f"client {client}" in result.measured and f"via {HIMN_IP}" in result.measured


def test_console_check_passes_with_the_port_forward(small_lab):
    lab, _ = small_lab
    compute = lab.host(COMPUTE)
    compute.run(["ip", "addr", "replace", f"{HIMN_IP}/16", "dev", "eth3"])
    assert not check(small_lab, "console").ok
    compute.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    compute.run(["iptables", "-t", "nat", "-A", "PREROUTING", "-d", COMPUTE_MGMT, "-p", "tcp", "--dport", "80",
                 "-j", "DNAT", "--to-destination", "169.254.0.1:80"])
    compute.run(["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth3", "-j", "MASQUERADE"])
    result = check(small_lab, "console")
    assert result.ok, result
    assert CONTROLLER in result.measured and "SESSION_INVALID" in result.measured


def test_config_check_reads_the_file_and_hides_the_password(small_lab):
    lab, _ = small_lab
    compute = lab.host(COMPUTE)
    import yaml
    password = yaml.safe_load(compute.read_file("/etc/astute.yaml"))["fuel-plugin-xenserver"]["password"]
    conf = ("[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\nforce_config_drive = True\n"
            "[vnc]\nnovncproxy_base_url = http://172.16.0.10:6080/vnc_auto.html\n"
            f"vncserver_proxyclient_address = {COMPUTE_MGMT}\n"
            "[xenserver]\nconnection_url = http://169.254.0.1\n"
            "connection_username = root\nconnection_password = {pw}\n"
            "vif_driver = nova.virt.xenapi.vif.XenAPIOpenVswitchDriver\novs_integration_bridge = br-int\n"
            "cache_images = all\n")
    compute.write_file("/etc/nova/nova-compute.conf", conf.format(pw="wrong-one"), mode=0o640)
    result = check(small_lab, "nova-compute.conf")
    assert not result.ok and "connection_password = wrong-one" in result.measured
    compute.write_file("/etc/nova/nova-compute.conf", conf.format(pw=password), mode=0o640)
    result = check(small_lab, "nova-compute.conf")
    assert result.ok, result
    assert password not in result.measured


def test_password_only_in_the_nodes_astute_yaml(small_lab):
    """The lab's XenServer password: in each node's /etc/astute.yaml (0600) and nowhere the lab writes
    on this machine's side (fuel.json, lab state, logs) or in any process's arguments."""
    import os

    import yaml
    lab, _ = small_lab
    password = yaml.safe_load(lab.host(COMPUTE).read_file("/etc/astute.yaml"))["fuel-plugin-xenserver"]["password"]
    assert len(password) >= 12
    for path in (lab.state_dir / "fuel.json", lab.state_dir / "lab.json"):
        if path.exists():
            assert password not in path.read_text(), path
    for log in (lab.state_dir / "logs").rglob("*"):
        if log.is_file():
            assert password.encode() not in log.read_bytes(), log
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        assert password.encode() not in cmdline, pid
