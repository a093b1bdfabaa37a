"""Files Fuel's own tasks leave on nodes, from their astute data (no lab needed)."""
import configparser

import yaml

from lab import fuelfiles
from tests.paths import FIXTURES

XS_HA = FIXTURES / "nailgun" / "xs-ha"


class FakeHost:
    def __init__(self, existing=()):
        self.files = {path: "kept" for path in existing}

    def exists(self, path):
        return path in self.files

    def write_file(self, path, data, mode=0o644):
        self.files[path] = data

    def run(self, argv, check=True):
        return None


def ini(text):
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_controller_nova_conf_names_every_controllers_memcached():
    data = yaml.safe_load((XS_HA / "primary-controller-node9.yaml").read_text())
    conf = ini(fuelfiles.nova_conf(data, controller=True))
    assert conf.get("keystone_authtoken", "memcached_servers") == \
        "192.168.0.11:11211,192.168.0.12:11211,192.168.0.9:11211"
    assert conf.get("DEFAULT", "my_ip") == "192.168.0.11"


def test_compute_files_and_private_physnet():
    data = yaml.safe_load((XS_HA / "compute-node12.yaml").read_text())
    files = fuelfiles.compute_files(data)
    assert ini(files["/etc/nova/nova-compute.conf"][0]).get("DEFAULT", "compute_driver") == "libvirt.LibvirtDriver"
    agent = ini(files["/etc/neutron/plugins/ml2/openvswitch_agent.ini"][0])
    assert agent.get("ovs", "bridge_mappings") == "physnet2:br-prv"
    assert ini(files["/etc/neutron/rootwrap.conf"][0]).get("xenapi", "xenapi_connection_url") == "<None>"


def test_files_written_only_when_absent():
    data = yaml.safe_load((XS_HA / "compute-node12.yaml").read_text())
    host = FakeHost(existing=["/etc/nova/nova-compute.conf"])
    written = fuelfiles.apply("top-role-compute", host, data)
    assert "/etc/nova/nova-compute.conf" not in written and host.files["/etc/nova/nova-compute.conf"] == "kept"
    assert "/etc/nova/nova.conf" in written
    assert fuelfiles.apply("netconfig", host, data) == []
