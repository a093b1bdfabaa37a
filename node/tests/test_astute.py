"""The astute model against every real Fuel 9 fixture, and the failures an operator can hit."""
import pytest
from conftest import all_fixtures, fixture_path

from xenserver_plugin import astute
from xenserver_plugin.errors import OperatorError

FIXTURES = all_fixtures()
COMPUTE12 = fixture_path("nailgun", "xs-ha", "compute-node12.yaml")

# (fixture, private NIC, physnet): br-prv patched to br-aux (xs-ha), to br-fw-admin (noop VLAN), absent (tun).
PRIVATE = {
    "nailgun/xs-ha/compute-node12.yaml": ("eth2", "physnet2"),
    "nailgun/xs-ha/primary-controller-node9.yaml": ("eth2", "physnet2"),
    "nailgun/xs-ha/cinder-node15.yaml": ("eth2", "physnet2"),
    "noop/neut_vlan.ceph-compute.yaml": ("enp0s3", "physnet2"),
    "noop/neut_vlan.cblock.murano.sahara.ceil-compute.yaml": ("enp0s3", "physnet2"),
    "noop/neut_tun.ceph.murano.sahara.ceil-compute.yaml": (None, None),
}


def node_of(path):
    return astute.Node(astute.load(path))


def test_every_fixture_is_found():
    names = [name for name, _ in FIXTURES]
    assert len(names) == 13
    assert "nailgun/xs-ha/compute-node12.yaml" in names


@pytest.mark.parametrize("name,path", FIXTURES, ids=[name for name, _ in FIXTURES])
def test_every_fixture_parses(name, path):
    node = node_of(path)
    assert node.roles
    assert node.management.bridge == "br-mgmt"
    assert node.management.network.endswith("/24")
    assert node.storage.bridge == "br-storage"
    assert node.public_vip
    if "/xs-ha/" in name:
        assert node.settings.username == "root"
        assert node.settings.password == "XenR00t-ha"
        assert node.settings.install_xapi is True
    else:
        with pytest.raises(OperatorError) as error:
            _ = node.settings
        assert "fuel-plugin-xenserver section is missing" in str(error.value)


@pytest.mark.parametrize("name", sorted(PRIVATE))
def test_private_nic_follows_the_bridge_chain(name):
    node = node_of(fixture_path(*name.split("/")))
    assert (node.private_nic, node.private_physnet) == PRIVATE[name]


def test_tunnelling_environment_has_no_private_nic():
    node = node_of(fixture_path("noop", "neut_tun.ceph.murano.sahara.ceil-compute.yaml"))
    with pytest.raises(OperatorError) as error:
        node.require_private_nic()
    assert "br-prv" in error.value.cause and "VLAN" in error.value.fix


def test_compute_node_values():
    node = node_of(COMPUTE12)
    assert node.uid == "12" and node.roles == ["compute"]
    assert node.management.cidr == "192.168.0.8/24" and node.management.network == "192.168.0.0/24"
    assert node.storage.cidr == "192.168.1.6/24"
    assert node.public_vip == "172.16.0.10" and node.management_vip == "192.168.0.14"
    assert node.public_ssl is False and node.ceilometer_enabled is False
    assert node.network.used_nics() == ["eth0", "eth1", "eth2"]
    assert node.network.interfaces == ["eth0", "eth1", "eth2", "eth3"]
    assert node.require_private_nic() == ("eth2", "physnet2")


def test_management_required():
    assert node_of(COMPUTE12).require_management().cidr == "192.168.0.8/24"
    with pytest.raises(OperatorError) as error:
        astute.Node(scheme([])).require_management()
    assert "no management network address" in error.value.cause and "Management network" in error.value.fix


def test_public_ssl_and_ceilometer():
    node = node_of(fixture_path("noop", "neut_tun.multirack.murano.sahara.ceil.ceph.public_ssl-compute.yaml"))
    assert node.public_ssl is True and node.ceilometer_enabled is True
    assert node.management.cidr == "10.11.2.2/24"


def test_endpoint_uses_the_real_prefix():
    endpoint = astute.Endpoint("br-storage", "10.1.77.130/26")
    assert endpoint.network == "10.1.77.128/26"
    assert endpoint.netmask == "255.255.255.192"
    assert astute.in_network("169.254.3.4", "169.254.0.0/16")
    assert not astute.in_network("169.253.3.4", "169.254.0.0/16")


def scheme(transformations, phys_bridge="br-prv"):
    return {
        "network_scheme": {"endpoints": {}, "roles": {}, "interfaces": {}, "transformations": transformations},
        "quantum_settings": {"L2": {"phys_nets": {"physnet1": {"bridge": "br-floating"},
                                                  "physnet2": {"bridge": phys_bridge}}}},
    }


def test_private_nic_directly_on_br_prv_and_through_two_patches():
    direct = astute.Node(scheme([{"action": "add-br", "name": "br-prv", "provider": "ovs"},
                                 {"action": "add-port", "bridge": "br-prv", "name": "eth4"}]))
    assert direct.private_nic == "eth4"
    chained = astute.Node(scheme([
        {"action": "add-patch", "bridges": ["br-prv", "br-ex"]},
        {"action": "add-port", "bridge": "br-ex", "name": "eth1.300"},
        {"action": "add-port", "bridge": "br-ex", "name": "eth5"}]))
    assert chained.private_nic == "eth5"


def test_private_nic_on_a_bond():
    node = astute.Node(scheme([
        {"action": "add-bond", "bridge": "br-aux", "name": "bond0", "interfaces": ["eth2", "eth3"]},
        {"action": "add-patch", "bridges": ["br-prv", "br-aux"]}]))
    assert node.private_port == "bond0" and node.private_nic == "eth2"
    assert node.network.used_nics() == ["eth2", "eth3"]


@pytest.mark.parametrize("section,message", [
    ({"metadata": {"enabled": True}, "username": "root", "password": ""}, "password"),
    ({"metadata": {"enabled": True}, "username": "", "password": "x"}, "username"),
    ({"metadata": {"enabled": False}, "username": "root", "password": "x"}, "section is missing"),
])
def test_settings_failures(section, message):
    node = astute.Node({"fuel-plugin-xenserver": section})
    with pytest.raises(OperatorError) as error:
        _ = node.settings
    assert message in str(error.value)


def test_settings_repr_hides_the_password():
    settings = astute.Settings("root", "s3cret", True)
    assert "s3cret" not in repr(settings)


def test_load_errors(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(OperatorError):
        astute.load(str(missing))
    broken = tmp_path / "broken.yaml"
    broken.write_text(u"a: [")
    with pytest.raises(OperatorError):
        astute.load(str(broken))
    empty = tmp_path / "empty.yaml"
    empty.write_text(u"")
    with pytest.raises(OperatorError):
        astute.load(str(empty))
