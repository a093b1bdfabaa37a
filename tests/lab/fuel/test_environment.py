"""Fixtures / default environment -> nodes, XenServer hosts and the astute.yaml each node gets."""
import shutil

import pytest
import yaml

from lab import environment as env_mod
from lab.environment import SAFE_LOADER, FixturesError, HostChoice, build_environment, lab_spec, load_fixtures
from tests.paths import FIXTURES, REPO

XS_HA = FIXTURES / "nailgun" / "xs-ha"
PASSWORD = "lab-S3cret"


def load_yaml(text):
    return yaml.load(text, Loader=SAFE_LOADER)


def plugin_serialization():
    return {"metadata": load_yaml((REPO / "plugin" / "metadata.yaml").read_text()),
            "attributes": load_yaml((REPO / "plugin" / "environment_config.yaml").read_text())["attributes"]}


@pytest.fixture(scope="module")
def xs_ha():
    return build_environment(load_fixtures(XS_HA), PASSWORD, [HostChoice("7.0.0"), HostChoice("7.1.0", sr_type="nfs")],
                             plugin_serialization(), source=str(XS_HA))


def test_xs_ha_compute_nodes_get_xenserver_hosts(xs_ha):
    assert [n.name for n in xs_ha.with_role("compute")] == ["node-12", "node-13", "node-14"]
    assert [(h.name, h.compute_node, h.version, h.sr_type) for h in xs_ha.xenhosts] == [
        ("xs-12", "node-12", "7.0.0", "ext"), ("xs-13", "node-13", "7.1.0", "nfs"),
        ("xs-14", "node-14", "7.0.0", "ext")]


def test_compute_vm_vifs_are_the_node_macs_on_dom0_bridges(xs_ha):
    data = load_yaml((XS_HA / "compute-node12.yaml").read_text())
    macs = {nic: v["mac_address"] for nic, v in data["provision"]["interfaces"].items()}
    host = xs_ha.xenhost("xs-12")
    assert host.vifs == [("0", macs["eth0"], "xenbr0"), ("1", macs["eth1"], "xenbr1"),
                         ("2", macs["eth2"], "xenbr2"), ("3", macs["eth3"], "xenapi")]
    node = xs_ha.node("node-12")
    assert node.himn_nic == "eth3"
    assert {nic.name: nic.segment for nic in node.nics} == {
        "eth0": "seg-eth0", "eth1": "seg-eth1", "eth2": "seg-eth2", "eth3": "himn-xs-12",
        # the VLANs of eth1, each a segment of its own (the lab's kernel may have no 802.1q)
        "eth1.101": "seg-eth1.101", "eth1.102": "seg-eth1.102"}


def test_plugin_section_rewritten_with_lab_password(xs_ha):
    section = xs_ha.node("node-9").astute["fuel-plugin-xenserver"]
    assert section["password"] == PASSWORD
    assert section["username"] == "root" and section["install_xapi"] is True
    assert section["metadata"]["enabled"] is True
    assert section["metadata"]["group"] == "compute"
    assert section["metadata"]["plugin_version"].startswith("4.0.")
    plugins = xs_ha.node("node-9").astute["plugins"]
    assert [p["name"] for p in plugins] == ["fuel-plugin-xenserver"]
    assert plugins[0]["scripts"][0]["local_path"] == "/etc/fuel/plugins/fuel-plugin-xenserver-4.0/"


def test_noop_fixture_gets_a_plugin_section_added():
    data = load_yaml((FIXTURES / "noop" / "neut_vlan.ceph-compute.yaml").read_text())
    assert "fuel-plugin-xenserver" not in data and data["plugins"] == []
    result = env_mod.with_plugin_section(data, PASSWORD, plugin_serialization())
    assert result["fuel-plugin-xenserver"]["password"] == PASSWORD
    assert result["fuel-plugin-xenserver"]["install_xapi"] is True
    assert result["fuel-plugin-xenserver"]["metadata"]["label"] == "XenServer Plugin"
    assert "fuel-plugin-xenserver" not in data  # the input is left alone


def test_noop_compute_alone_makes_a_lab(tmp_path):
    shutil.copy(FIXTURES / "noop" / "neut_vlan.ceph-compute.yaml", tmp_path)
    env = build_environment(load_fixtures(tmp_path), PASSWORD)
    node = env.nodes[0]
    assert node.himn_nic == "enp0s7"  # the last NIC with no Fuel network
    assert len({nic.mac for nic in node.nics}) == len(node.nics)
    lab_spec(env, "t").validate()


def test_default_environment_shape():
    env = build_environment(load_fixtures(None), PASSWORD, [HostChoice("7.0.0"), HostChoice("7.1.0")])
    assert [(n.name, n.roles) for n in env.nodes] == [
        ("node-1", ["primary-controller"]), ("node-2", ["cinder"]), ("node-3", ["compute"]), ("node-4", ["compute"])]
    assert [h.version for h in env.xenhosts] == ["7.0.0", "7.1.0"]
    spec = lab_spec(env, "fxl")
    spec.validate()
    dom0 = spec.host("xs-3")
    assert dom0.kind == "dom0" and dom0.himn_nic().segment == "himn-xs-3"
    assert dom0.xenserver.password_matches(PASSWORD)
    assert env.node("node-1").ip("br-mgmt") and env.node("node-2").ip("br-storage")


def test_six_five_hosts_get_the_required_hotfix_unless_told():
    env = build_environment(load_fixtures(None), PASSWORD, [HostChoice("6.5.0"), HostChoice("6.5.0", hotfixes=())])
    assert [h.hotfixes for h in env.xenhosts] == [["XS65ESP1013"], []]


def test_no_compute_node_is_one_clear_error(tmp_path):
    shutil.copy(XS_HA / "cinder-node15.yaml", tmp_path)
    with pytest.raises(FixturesError, match="no compute node"):
        build_environment(load_fixtures(tmp_path), PASSWORD, source=str(tmp_path))


def test_bad_network_scheme_is_one_clear_error(tmp_path):
    data = load_yaml((XS_HA / "compute-node12.yaml").read_text())
    data["network_scheme"]["transformations"].append({"action": "add-bond", "name": "bond0"})
    (tmp_path / "compute-node12.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(FixturesError, match="compute-node12.yaml.*add-bond"):
        build_environment(load_fixtures(tmp_path), PASSWORD)


def test_versions_parse():
    assert env_mod.parse_versions("6.5, 7.0,7.1") == ["6.5.0", "7.0.0", "7.1.0"]
    with pytest.raises(FixturesError, match="8.0"):
        env_mod.parse_versions("8.0")


def test_vips_go_to_the_primary_controller_with_their_network_prefix(xs_ha):
    assert xs_ha.node("node-9").vips() == [("192.168.0.14/24", "br-mgmt"), ("172.16.0.10/24", "br-ex"),
                                           ("192.168.0.13/24", "br-mgmt"), ("172.16.0.9/24", "br-ex")]
    assert xs_ha.node("node-10").vips() == []


def test_fixtures_of_different_environments_clash(tmp_path):
    for name in ("neut_vlan.ceph-primary-controller.yaml", "neut_vlan.ceph-compute.yaml",
                 "neut_vlan.cblock.murano.sahara.ceil-primary-controller.yaml"):
        shutil.copy(FIXTURES / "noop" / name, tmp_path)
    with pytest.raises(FixturesError, match="both use"):
        build_environment(load_fixtures(tmp_path), PASSWORD)
