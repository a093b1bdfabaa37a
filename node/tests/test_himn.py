"""Finding, persisting and bringing up the HIMN NIC, against a fake node network (and `ip` output parsers)."""
import io
import os

import pytest
from conftest import fixture_path
from pre_fakes import FakeNetwork, Recorder

from xenserver_plugin import astute, himn
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.steps import Run

HERE = os.path.dirname(os.path.abspath(__file__))
COMPUTE = astute.Node(astute.load(fixture_path("nailgun", "xs-ha", "compute-node12.yaml")))


def sample(name):
    with io.open(os.path.join(HERE, "fixtures", name)) as stream:
        return stream.read()


@pytest.fixture
def etc(tmp_path, monkeypatch):
    """/etc/network and /etc/dhcp under tmp_path."""
    network = tmp_path / "network"
    (network / "interfaces.d").mkdir(parents=True)
    (network / "interfaces").write_text(u"auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n")
    monkeypatch.setattr(himn, "INTERFACES_DIR", str(network / "interfaces.d"))
    monkeypatch.setattr(himn, "NO_DEFAULT_ROUTE_HOOK", str(tmp_path / "dhcp" / "hooks" / "xenserver-himn"))
    return tmp_path


def ensure(etc, net, dry_run=False):
    run = Run(dry_run=dry_run, out=io.StringIO() if str is not bytes else io.BytesIO())
    link = himn.Himn(run, COMPUTE, net, interfaces_file=str(etc / "network" / "interfaces")).ensure()
    return run, link


def patch_sources(etc):
    # the interfaces file names the real directory; the test's directory is elsewhere
    path = etc / "network" / "interfaces"
    path.write_text(u"auto lo\nsource %s/*\n" % himn.INTERFACES_DIR)


def test_probe_persist_and_bring_up_then_nothing_on_rerun(etc):
    patch_sources(etc)
    net = FakeNetwork()
    run, link = ensure(etc, net)
    assert (link.nic, link.cidr, link.address) == ("eth3", "169.254.0.5/16", "169.254.0.5")
    assert ("probe", "eth3") in net.calls and ("ifup", "eth3") in net.calls
    # Fuel NICs are never probed
    assert not [call for call in net.calls if call[0] == "probe" and call[1] != "eth3"]
    ifcfg = (etc / "network" / "interfaces.d" / "ifcfg-eth3").read_text()
    assert "iface eth3 inet dhcp" in ifcfg and "auto eth3" in ifcfg
    assert "ip route del default via 169.254.0.1 dev eth3" in ifcfg
    hook = (etc / "dhcp" / "hooks" / "xenserver-himn").read_text()
    assert "unset new_routers" in hook
    assert net.routes == []  # the default route via Dom0 was removed
    assert len(run.changes) == 4

    net.calls = []
    run, link = ensure(etc, net)
    assert run.changes == [] and link.nic == "eth3"
    assert net.calls == []


def test_an_address_already_up_is_found_without_probing(etc):
    patch_sources(etc)
    net = FakeNetwork(dhcp={"eth3": "169.254.0.9/16"})
    net.nics["eth3"].addresses = ["169.254.0.9/16"]
    run, link = ensure(etc, net)
    assert link.cidr == "169.254.0.9/16"
    assert not [call for call in net.calls if call[0] == "probe"]
    # the files were missing: the NIC is restarted through ifupdown once, so ifupdown owns it from now on
    assert ("ifup", "eth3") in net.calls


def test_xenstore_mac_picks_the_nic(etc):
    patch_sources(etc)
    net = FakeNetwork(dhcp={"eth3": None, "eth4": "169.254.0.7/16"}, xenstore_mac="00:16:3E:00:00:04")
    net.nics["eth4"] = himn.Link("eth4", "00:16:3e:00:00:04", [])
    net.answering.add("eth4")
    run, link = ensure(etc, net)
    assert link.nic == "eth4"
    assert ("probe", "eth3") not in net.calls


def test_dhcp_answer_outside_link_local_fails_naming_the_nic_and_writes_nothing(etc):
    patch_sources(etc)
    net = FakeNetwork(dhcp={"eth3": "10.10.0.5/24"}, xenstore_mac="00:16:3e:00:00:03")
    with pytest.raises(OperatorError) as error:
        ensure(etc, net)
    message = str(error.value)
    assert "eth3" in message and "10.10.0.5/24" in message and "outside" in message
    assert "HIMN tool" in message
    assert os.listdir(himn.INTERFACES_DIR) == []


def test_no_himn_anywhere_lists_what_was_tried(etc):
    patch_sources(etc)
    net = FakeNetwork(dhcp={"eth3": None, "eth5": "192.168.50.3/24"})
    net.nics["eth5"] = himn.Link("eth5", "00:16:3e:00:00:05", [])
    with pytest.raises(OperatorError) as error:
        ensure(etc, net)
    message = str(error.value)
    assert "eth3 (no DHCP answer" in message and "eth5 (DHCP answered 192.168.50.3/24" in message
    assert "XenCenter" in message
    assert os.listdir(himn.INTERFACES_DIR) == []


def test_link_local_nic_whose_host_does_not_answer_is_reported(etc):
    patch_sources(etc)
    net = FakeNetwork(dhcp={"eth3": None}, answering=())
    net.nics["eth3"].addresses = ["169.254.0.9/16"]
    with pytest.raises(OperatorError) as error:
        ensure(etc, net)
    assert "eth3 (has 169.254.0.9/16 but 169.254.0.1 does not answer)" in str(error.value)


def test_ifup_without_answer_removes_what_it_wrote(etc):
    patch_sources(etc)
    net = FakeNetwork(answering=())
    with pytest.raises(OperatorError) as error:
        ensure(etc, net)
    assert "does not answer" in str(error.value)
    assert os.listdir(himn.INTERFACES_DIR) == []
    assert not os.path.exists(himn.NO_DEFAULT_ROUTE_HOOK)


def test_dry_run_changes_nothing(etc):
    patch_sources(etc)
    net = FakeNetwork()
    run, link = ensure(etc, net, dry_run=True)
    assert link is None
    assert any("probe eth3" in change for change in run.changes)
    assert os.listdir(himn.INTERFACES_DIR) == []
    assert net.calls == []


def test_dry_run_with_the_link_up_reports_only_missing_files(etc):
    patch_sources(etc)
    net = FakeNetwork()
    net.nics["eth3"].addresses = ["169.254.0.9/16"]
    run, link = ensure(etc, net, dry_run=True)
    assert link is None
    assert any("ifcfg-eth3" in change for change in run.changes)
    assert os.listdir(himn.INTERFACES_DIR) == []


def test_interfaces_file_gets_a_source_line_when_missing(etc):
    (etc / "network" / "interfaces").write_text(u"auto lo\niface lo inet loopback")
    net = FakeNetwork()
    ensure(etc, net)
    text = (etc / "network" / "interfaces").read_text()
    assert text.endswith("\nsource %s/*\n" % himn.INTERFACES_DIR)
    assert himn.sources_interfaces_d(text, "eth3")


def test_sources_interfaces_d():
    assert himn.sources_interfaces_d("source /etc/network/interfaces.d/*\n", "eth3")
    assert himn.sources_interfaces_d("source /etc/network/interfaces.d/ifcfg-*\n", "eth3")
    assert himn.sources_interfaces_d("source-directory /etc/network/interfaces.d\n", "eth3")
    assert not himn.sources_interfaces_d("# source /etc/network/interfaces.d/*\n", "eth3")
    assert not himn.sources_interfaces_d("source /etc/network/other/*\n", "eth3")


def test_parse_ip_json():
    links = {link.name: link for link in himn.parse_ip_json(sample("ip-j-d-addr.json"))}
    assert links["va"].kind == "veth" and links["va"].master is None and links["va"].up
    assert links["vb"].master == "br-x"
    assert links["br-x"].kind == "bridge"
    assert links["lo"].link_type == "loopback"


def test_parse_ip_oneline():
    links = {link.name: link for link in himn.parse_ip_oneline(sample("ip-o-d-link-2.txt"),
                                                              sample("ip-o-4-addr.txt"))}
    assert links["va"].addresses == ["169.254.0.7/16"] and links["va"].link_local == "169.254.0.7/16"
    assert links["vb"].addresses == ["10.1.2.3/26"] and links["vb"].link_local is None
    assert links["va"].kind == "veth" and links["va"].mac
    links = {link.name: link for link in himn.parse_ip_oneline(sample("ip-o-d-link.txt"), "")}
    assert links["vb"].master == "br-x" and links["br-x"].kind == "bridge" and links["va"].up


def test_parse_lease():
    text = ('lease {\n  interface "eth3";\n  fixed-address 10.0.0.9;\n  option subnet-mask 255.255.255.0;\n}\n'
            'lease {\n  interface "eth3";\n  fixed-address 169.254.0.5;\n'
            '  option subnet-mask 255.255.0.0;\n  option routers 169.254.0.1;\n}\n')
    assert himn.parse_lease(text) == "169.254.0.5/16"
    assert himn.parse_lease("") is None


def test_failure_restores_the_interfaces_file(etc):
    original = u"auto lo\niface lo inet loopback\n"
    (etc / "network" / "interfaces").write_text(original)
    net = FakeNetwork(answering=())
    with pytest.raises(OperatorError):
        ensure(etc, net)
    assert (etc / "network" / "interfaces").read_text() == original
    assert os.listdir(himn.INTERFACES_DIR) == []


def test_ifup_without_lease(etc):
    patch_sources(etc)
    net = FakeNetwork()
    net.ifup = lambda nic: net.calls.append(("ifup", nic)) and False
    with pytest.raises(OperatorError) as error:
        ensure(etc, net)
    assert "ifup eth3 got no DHCP lease" in error.value.cause and "XenCenter" in error.value.fix
    assert os.listdir(himn.INTERFACES_DIR) == []


def test_local_network_falls_back_to_oneline_ip_output():
    def answer(argv, input_text):
        if argv[:2] == ["ip", "-j"]:
            return 255, "", 'Option "-j" is unknown, try "ip -help".\n'
        if argv[:4] == ["ip", "-o", "-d", "link"]:
            return 0, sample("ip-o-d-link-2.txt"), ""
        if argv[:4] == ["ip", "-o", "-4", "addr"]:
            return 0, sample("ip-o-4-addr.txt"), ""
        if argv[:4] == ["ip", "-o", "-4", "route"]:
            return 0, ("default via 10.20.0.1 dev br-fw-admin \n"
                       "default via 169.254.0.1 dev eth3 metric 100\n"), ""
        if argv[0] == "xenstore-read":
            return 1, "", "could not read path vm-data/himn_mac\n"
        raise AssertionError(argv)
    net = himn.LocalNetwork(Recorder(answer))
    assert {link.name: link.addresses for link in net.links()}["va"] == ["169.254.0.7/16"]
    assert net.default_routes_via("169.254.0.1") == ["eth3"]
    assert net.xenstore_read("vm-data/himn_mac") is None


def test_local_network_reads_json_when_available():
    def answer(argv, input_text):
        assert argv == ["ip", "-j", "-d", "addr", "show"]
        return 0, sample("ip-j-d-addr.json"), ""
    links = himn.LocalNetwork(Recorder(answer)).links()
    assert sorted(link.name for link in links) == ["br-x", "lo", "va", "vb"]
