import grp
import os
import stat

import pytest
from post_fakes import FakeDom0, FakeNode
from runs import make_run

from xenserver_plugin import astute, himn, ini, neutron, system
from xenserver_plugin.errors import OperatorError

MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SETTINGS = astute.Settings("root", "XenR00t-ha", True)
ROOTWRAP = """[DEFAULT]
filters_path=/etc/neutron/rootwrap.d,/usr/share/neutron/rootwrap

[xenapi]
# XenAPI configuration is only required by the L2 agent if it is to
# target a XenServer/XCP compute host's dom0.
xenapi_connection_url=<None>
xenapi_connection_username=root
xenapi_connection_password=<None>
"""
AGENT = """[ovs]
integration_bridge = br-int
bridge_mappings = physnet1:br-floating,physnet2:br-prv
[agent]
root_helper = sudo /usr/bin/neutron-rootwrap /etc/neutron/rootwrap.conf
root_helper_daemon = sudo /usr/bin/neutron-rootwrap-daemon /etc/neutron/rootwrap.conf
"""


@pytest.fixture
def node(tmp_path, monkeypatch):
    (tmp_path / "rootwrap.conf").write_text(u"" + ROOTWRAP)
    (tmp_path / "openvswitch_agent.ini").write_text(u"" + AGENT)
    os.chmod(str(tmp_path / "rootwrap.conf"), 0o644)
    monkeypatch.setattr(neutron, "ROOTWRAP_CONF", str(tmp_path / "rootwrap.conf"))
    monkeypatch.setattr(neutron, "OVS_AGENT_INI", str(tmp_path / "openvswitch_agent.ini"))
    monkeypatch.setattr(neutron, "GROUP", MY_GROUP)
    fake = FakeNode(str(tmp_path / "ip_forward"))
    monkeypatch.setattr(system, "run", fake.run)
    return fake


@pytest.fixture
def dom0(tmp_path):
    root = tmp_path / "dom0"
    root.mkdir()
    return FakeDom0(str(root))


def deploy(run, dom0):
    bridge = neutron.private_dom0_bridge(dom0, "eth2")
    return neutron.ensure(run, dom0, SETTINGS, "physnet2", bridge)


def test_bridge_is_the_attached_vifs_network_found_by_mac(node, dom0):
    assert neutron.private_dom0_bridge(dom0, "eth2") == "xenbr2"


def test_configs_written_agent_restarted_once(node, dom0):
    run = make_run()
    deploy(run, dom0)
    rootwrap = ini.IniText(open(neutron.ROOTWRAP_CONF).read())
    assert rootwrap.get("xenapi", "xenapi_connection_url") == "http://169.254.0.1"
    assert rootwrap.get("xenapi", "xenapi_connection_password") == "XenR00t-ha"
    assert rootwrap.get("DEFAULT", "filters_path") == "/etc/neutron/rootwrap.d,/usr/share/neutron/rootwrap"
    assert stat.S_IMODE(os.stat(neutron.ROOTWRAP_CONF).st_mode) == 0o640
    agent = ini.IniText(open(neutron.OVS_AGENT_INI).read())
    assert agent.get("ovs", "bridge_mappings") == "physnet2:xenbr2"
    assert agent.get("agent", "root_helper") == "neutron-rootwrap-xen-dom0 /etc/neutron/rootwrap.conf"
    assert agent.get("agent", "root_helper_daemon") == ""
    assert agent.get("agent", "minimize_polling") == "False"
    assert node.restarts == ["neutron-openvswitch-agent"]
    assert "XenR00t-ha" not in "\n".join(run.changes)

    again = make_run()
    deploy(again, dom0)
    assert again.changes == [] and node.restarts == ["neutron-openvswitch-agent"]


def test_no_vif_with_the_private_mac_is_an_operator_error(node, dom0):
    node.macs["eth2"] = "00:16:3e:99:99:99"
    with pytest.raises(OperatorError) as error:
        neutron.private_dom0_bridge(dom0, "eth2")
    assert "00:16:3e:99:99:99" in error.value.cause


def test_missing_private_nic_is_an_operator_error(node, dom0):
    with pytest.raises(OperatorError) as error:
        neutron.private_dom0_bridge(dom0, "eth7")
    assert "eth7" in error.value.cause


def test_linux_bridge_allowed_on_xenserver_65_only(node, tmp_path):
    for version, expected in (((1, 9, 0), False), ((2, 1, 0), True)):
        root = tmp_path / ("dom0-%d" % version[0])
        (root / "etc" / "modprobe.d").mkdir(parents=True)
        (root / "etc" / "modprobe.d" / "blacklist-bridge.conf").write_text(u"install bridge /bin/true\n")
        (root / "etc" / "modprobe.d" / "other.conf").write_text(u"\n")
        dom0 = FakeDom0(str(root), platform_version=version)
        deploy(make_run(), dom0)
        assert os.path.exists(str(root / "etc" / "modprobe.d" / "blacklist-bridge.conf")) is expected
        assert os.path.exists(str(root / "etc" / "modprobe.d" / "other.conf"))
        again = make_run()
        deploy(again, dom0)
        assert again.changes == []


def parse_mac(ip_o_link_output):
    """The private NIC's MAC as neutron reads it: himn's link parser, then only an Ethernet MAC."""
    [link] = himn.parse_ip_oneline(ip_o_link_output, "")
    return neutron.ether_mac(link)


def test_parse_mac():
    line = "3: eth2: <BROADCAST> mtu 1500 qdisc noop state DOWN\\    link/ether 00:16:3E:AA:BB:02 brd ff:ff:ff:ff:ff:ff"
    assert parse_mac(line) == "00:16:3e:aa:bb:02"
    assert parse_mac("1: lo: <LOOPBACK> mtu 65536\\    link/loopback 00:00:00:00:00:00") is None
