"""network_scheme -> the node's bridges, VLANs, patches, addresses and routes (no lab needed)."""
import ipaddress

import pytest
import yaml

from lab.environment import SAFE_LOADER
from lab.netconfig import NetconfigError, build
from tests.paths import FIXTURES

XS_HA = sorted((FIXTURES / "nailgun" / "xs-ha").glob("*.yaml"))
NOOP_COMPUTES = sorted((FIXTURES / "noop").glob("*-compute.yaml"))


def load_yaml(text):
    return yaml.load(text, Loader=SAFE_LOADER)


def scheme(path):
    return load_yaml(path.read_text())["network_scheme"]


@pytest.mark.parametrize("path", XS_HA + NOOP_COMPUTES, ids=lambda p: p.name)
def test_every_endpoint_address_is_built_with_its_own_prefix(path):
    data = scheme(path)
    net = build(data, path.name)
    for device, endpoint in data["endpoints"].items():
        if endpoint["IP"] == "none":
            assert device not in net.addresses
            continue
        assert [str(a) for a in net.addresses[device]] == endpoint["IP"]
    adds = [c for c in net.commands() if c[:3] == ["ip", "addr", "add"]]
    assert sorted(c[3] for c in adds) == sorted(ip for e in data["endpoints"].values() if e["IP"] != "none"
                                                for ip in e["IP"])


@pytest.mark.parametrize("path", XS_HA, ids=lambda p: p.name)
def test_xs_ha_node_has_fuel_bridges_vlans_and_prv_patch(path):
    net = build(scheme(path), path.name)
    assert {"br-fw-admin", "br-mgmt", "br-storage", "br-prv", "br-aux"} <= set(net.bridges)
    assert net.bridges["br-prv"] == "ovs"
    assert [(v.name, v.parent, v.vid) for v in net.vlans] == [("eth1.101", "eth1", 101), ("eth1.102", "eth1", 102)]
    assert ("br-mgmt", "eth1.101") in net.ports and ("br-storage", "eth1.102") in net.ports
    assert any(set(p.bridges) == {"br-prv", "br-aux"} for p in net.patches)
    compute = "compute" in path.name
    assert net.unused_nics == (["eth3"] if compute else [])


def test_gateway_and_routes_from_the_data():
    path = FIXTURES / "noop" / "neut_tun.multirack.murano.sahara.ceil.ceph.public_ssl-compute.yaml"
    net = build(scheme(path), path.name)
    assert net.default_gateway == ("10.110.0.1", "br-fw-admin")
    assert ("192.168.0.0/24", "10.11.2.1", "br-mgmt") in [(r.net, r.via, r.dev) for r in net.routes]
    assert ["ip", "route", "replace", "192.168.1.0/24", "via", "10.11.3.1", "dev", "br-storage"] in net.commands()


def test_cidr_is_not_assumed_24():
    data = scheme(XS_HA[0])
    data["endpoints"]["br-storage"]["IP"] = ["10.5.0.9/21"]
    net = build(data)
    assert net.address("br-storage") == ipaddress.IPv4Interface("10.5.0.9/21")
    assert ["ip", "addr", "add", "10.5.0.9/21", "dev", "br-storage"] in net.commands()


def test_commands_create_before_use():
    net = build(scheme(XS_HA[0]))
    created = set(net.physical_nics)
    for cmd in net.commands():
        if cmd[:3] == ["ip", "link", "add"]:
            created.add(cmd[3] if cmd[3] != "link" else cmd[6])
            if "peer" in cmd:
                created.add(cmd[-1])
        elif "master" in cmd:
            assert cmd[3] in created and cmd[5] in created
        elif cmd[:3] == ["ip", "addr", "add"]:
            assert cmd[-1] in created


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d["transformations"].append({"action": "add-bond", "name": "bond0"}), "add-bond"),
    (lambda d: d["transformations"].append({"action": "add-port", "bridge": "br-nope", "name": "eth0"}), "br-nope"),
    (lambda d: d["transformations"].append({"action": "add-port", "bridge": "br-mgmt", "name": "eth9.5"}), "eth9"),
    (lambda d: d["endpoints"].update({"br-ghost": {"IP": ["1.2.3.4/24"]}}), "br-ghost"),
    (lambda d: d["endpoints"]["br-mgmt"].update({"IP": ["192.168.0.300/24"]}), "bad address"),
    (lambda d: d.pop("interfaces"), "interfaces"),
])
def test_unbuildable_scheme_is_one_clear_error(breakage, message):
    data = scheme(XS_HA[0])
    breakage(data)
    with pytest.raises(NetconfigError, match=message):
        build(data, "node-x.yaml")


@pytest.mark.parametrize("path, nic", [
    (XS_HA[0], "eth2"),  # br-prv patched to br-aux, which holds eth2
    (FIXTURES / "noop" / "neut_vlan.ceph-compute.yaml", "enp0s3"),  # br-prv patched to br-fw-admin
], ids=lambda v: getattr(v, "name", v))
def test_private_nic_found_through_the_br_prv_patch(path, nic):
    assert build(scheme(path)).nics_behind("br-prv") == [nic]
