import pytest
from post_fakes import FakeNode
from runs import make_run

from xenserver_plugin import astute, gateway, himn, system
from xenserver_plugin.errors import OperatorError

MGMT = astute.Endpoint("br-mgmt", "192.168.0.8/24")
STORAGE = astute.Endpoint("br-storage", "192.168.1.6/24")
HIMN = himn.HimnLink("eth3", "00:16:3e:00:01:07", "169.254.0.2/16")


@pytest.fixture
def node(tmp_path, monkeypatch):
    proc = tmp_path / "ip_forward"
    proc.write_text(u"0\n")
    (tmp_path / "sysctl.conf").write_text(u"# Uncomment the next line to enable packet forwarding for IPv4\n"
                                          u"#net.ipv4.ip_forward=1\n")
    monkeypatch.setattr(gateway, "IP_FORWARD_PROC", str(proc))
    monkeypatch.setattr(gateway, "SYSCTL_CONF", str(tmp_path / "sysctl.conf"))
    monkeypatch.setattr(gateway, "RULES_V4", str(tmp_path / "iptables" / "rules.v4"))
    monkeypatch.setattr(gateway, "PERSISTENCE_TOOLS", (str(tmp_path / "init.d" / "iptables-persistent"),))
    fake = FakeNode(str(proc))
    monkeypatch.setattr(system, "run", fake.run)
    return fake


def test_rules_are_spelled_as_iptables_save_prints_them():
    rules = gateway.gateway_rules("eth3", ["br-storage"]) + gateway.console_rules("eth3", MGMT)
    lines = [rule.save_line() for rule in rules]
    assert "-A POSTROUTING -o br-storage -j MASQUERADE" in lines
    assert "-A FORWARD -i br-storage -o eth3 -m state --state RELATED,ESTABLISHED -j ACCEPT" in lines
    assert "-A FORWARD -i eth3 -o br-storage -j ACCEPT" in lines
    assert "-A INPUT -i eth3 -j ACCEPT" in lines
    assert ("-A PREROUTING -d 192.168.0.8/32 -i br-mgmt -p tcp -m tcp --dport 80 -j DNAT "
            "--to-destination 169.254.0.1:80") in lines


def test_first_run_applies_everything_second_run_nothing(node, tmp_path):
    run = make_run()
    rules = gateway.ensure(run, HIMN, MGMT, STORAGE)
    assert len(rules) == 9  # 2 bridges x 3 + INPUT + console DNAT + console FORWARD
    assert open(gateway.IP_FORWARD_PROC).read().strip() == "1"
    sysctl = open(gateway.SYSCTL_CONF).read()
    assert "#net.ipv4.ip_forward=1" in sysctl and sysctl.rstrip().endswith("net.ipv4.ip_forward = 1")
    assert node.rules["nat"]["POSTROUTING"] == [["-o", "br-storage", "-j", "MASQUERADE"],
                                                 ["-o", "br-mgmt", "-j", "MASQUERADE"]]
    assert ["-i", "eth3", "-j", "ACCEPT"] in node.rules["filter"]["INPUT"]
    saved = open(gateway.RULES_V4).read()
    assert "-A INPUT -i eth3 -j ACCEPT" in saved and not saved.startswith("#")
    assert len(run.changes) == 2 + 9 + 1

    again = make_run()
    gateway.ensure(again, HIMN, MGMT, STORAGE)
    assert again.changes == []
    assert sum(len(chain) for table in node.rules.values() for chain in table.values()) == 9


def test_inserted_rules_go_before_existing_drop(node):
    node.rules["filter"] = {"INPUT": [["-j", "DROP"]]}
    gateway.ensure(make_run(), HIMN, MGMT, STORAGE)
    assert node.rules["filter"]["INPUT"][-1] == ["-j", "DROP"]
    assert node.rules["filter"]["INPUT"][0] == ["-i", "eth3", "-j", "ACCEPT"]


def test_rules_lost_from_rules_v4_are_saved_again(node):
    gateway.ensure(make_run(), HIMN, MGMT, STORAGE)
    with open(gateway.RULES_V4, "w") as stream:
        stream.write("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
    run = make_run()
    gateway.ensure(run, HIMN, MGMT, STORAGE)
    assert len(run.changes) == 1 and "rules.v4" in run.changes[0]


def test_active_forwarding_line_is_rewritten_not_duplicated():
    text = gateway.sysctl_conf_with_forwarding("a = 1\nnet.ipv4.ip_forward=0\n")
    assert text == "a = 1\nnet.ipv4.ip_forward = 1\n"
    assert gateway.sysctl_conf_with_forwarding(text) == text


def test_dry_run_changes_nothing(node):
    run = make_run(dry_run=True)
    gateway.ensure(run, HIMN, MGMT, STORAGE)
    assert len(run.changes) == 12
    assert node.rules == {}
    assert open(gateway.IP_FORWARD_PROC).read().strip() == "0"
    assert [call[0] for call in node.calls if call[0] != "iptables" or "-C" not in call] == []


def test_same_bridge_for_storage_and_management_is_natted_once(node):
    both = astute.Endpoint("br-mgmt", "192.168.1.6/24")
    rules = gateway.ensure(make_run(), HIMN, MGMT, both)
    assert [r.save_line() for r in rules].count("-A POSTROUTING -o br-mgmt -j MASQUERADE") == 1


def test_himn_link_from_ip_o_addr(node):
    link = gateway.find_himn_link()
    assert (link.nic, link.address) == ("eth3", "169.254.0.2")
    assert isinstance(link, himn.HimnLink) and link.cidr == "169.254.0.2/16"
    assert ["ip", "-o", "-d", "link", "show"] in node.calls  # the links as the pre-deployment task reads them


def test_dom0_address_held_by_the_node_is_not_the_himn_link(node):
    node.ip_addr = ("1: lo    inet 127.0.0.1/8 scope host lo\n"
                    "3: eth1    inet 169.254.0.1/16 scope global eth1\n"
                    "7: eth3    inet 169.254.0.2/16 scope global eth3\n")
    assert gateway.find_himn_link().nic == "eth3"


def test_no_himn_address_is_an_operator_error(node):
    node.ip_addr = "1: lo    inet 127.0.0.1/8 scope host lo\n"
    with pytest.raises(OperatorError) as error:
        gateway.find_himn_link()
    assert "HIMN" in error.value.fix


def test_rules_saved_through_iptables_persistent_when_installed(node, tmp_path):
    tool = tmp_path / "init.d" / "iptables-persistent"
    tool.parent.mkdir()
    tool.write_text(u"")
    saved = []
    node._iptables_persistent = lambda argv: saved.append(argv) or __import__("post_fakes").Result(argv)
    run = make_run()
    gateway.ensure(run, HIMN, MGMT, STORAGE)
    assert saved == [[str(tool), "save"]]
    assert not (tmp_path / "iptables" / "rules.v4").exists()


def test_saved_rules_match_whatever_the_option_order():
    saved = gateway.saved_rules("*nat\n-A PREROUTING -i br-mgmt -d 192.168.0.8/32 -p tcp -m tcp --dport 80 "
                                "-j DNAT --to-destination 169.254.0.1:80\nCOMMIT\n")
    rule = gateway.console_rules("eth3", MGMT)[0]
    assert gateway.rule_key(rule.save_line()) in saved["nat"]
    assert gateway.rule_key(gateway.console_rules("eth4", astute.Endpoint("br-mgmt", "192.168.0.9/24"))[0]
                            .save_line()) not in saved["nat"]
