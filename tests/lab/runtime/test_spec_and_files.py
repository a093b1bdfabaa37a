"""Lab descriptions and the files the runtime renders into hosts (no root needed)."""
import json

import pytest

from lab import dom0, nodeos
from lab.runtime import host_mounts, with_xenserver_configs
from lab.spec import HIMN_DHCP_RANGE, HostSpec, LabSpec, Nic, SpecError

from .specs import PASSWORD, demo_like, xenserver_pair


def test_demo_spec_is_valid_and_names_every_segment():
    spec = demo_like("abc")
    spec.validate()
    assert spec.all_segments() == ["himn-xs1", "mgmt", "himn-xs2"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: setattr(s, "prefix", "fx-1"), "prefix"),
    (lambda s: setattr(s, "prefix", "toolongx"), "prefix"),
    (lambda s: s.hosts.append(HostSpec("xs1", "node")), "repeat"),
    (lambda s: s.hosts.append(HostSpec("sw", "node")), "reserved"),
    (lambda s: s.hosts[0].nics.clear(), "no NIC on its HIMN segment"),
    (lambda s: s.hosts[1].nics.append(Nic("eth0", "02:00:00:00:00:99", "mgmt")), "NIC names repeat"),
    (lambda s: s.hosts[1].nics.append(Nic("eth5", "02:00:00:00:00:AA", "mgmt")), "lower-case"),
    (lambda s: s.hosts[1].nics.append(Nic("averyveryverylongname", "02:00:00:00:00:aa", "mgmt")), "interface name"),
    (lambda s: s.hosts[1].nics.append(Nic("eth5", s.hosts[0].nics[0].mac, "mgmt")), "used twice"),
    (lambda s: setattr(s.hosts[1], "python", "2.6"), "python"),
    (lambda s: setattr(s.hosts[0], "dhcp_range", ("10.0.0.9", "10.0.0.1", "255.255.255.0")), "starts after"),
    (lambda s: setattr(s.hosts[0], "dhcp_range", ("10.0.0.1", "10.0.0.9", "255.0.255.0")), "netmask"),
])
def test_invalid_specs_are_refused_with_the_reason(change, message):
    spec = LabSpec("abc", xenserver_pair(1, 1))
    change(spec)
    with pytest.raises(SpecError, match=message):
        spec.validate()


def test_spec_round_trips_through_json_without_the_password():
    spec = with_xenserver_configs(demo_like("abc"))
    text = json.dumps(spec.to_dict())
    assert PASSWORD not in text
    again = LabSpec.from_dict(json.loads(text))
    assert [(h.name, h.kind, h.nics, h.python, h.dhcp_range, h.xenserver) for h in again.hosts] == [
        (h.name, h.kind, h.nics, h.python, h.dhcp_range, h.xenserver) for h in spec.hosts]
    assert again.host("xs1").xenserver.password_matches(PASSWORD)
    assert again.host("xs1").root_password is None


def test_a_compute_vm_gets_its_himn_mac_in_xenstore():
    dom0_spec, compute = xenserver_pair(1, 1)
    assert nodeos.xenstore_keys(compute) == {"vm-data/himn_mac": compute.nics[1].mac}
    assert nodeos.xenstore_keys(HostSpec("controller", "node", [Nic("eth0", "02:00:00:00:00:01", "mgmt")])) == {}
    assert dom0_spec.himn_nic() == dom0_spec.nics[0]


def test_default_xenserver_holds_the_compute_vm_and_its_himn_vif():
    dom0_spec, compute = xenserver_pair(1, 1)
    config = dom0.default_xenserver(dom0_spec, [compute])
    (vm,) = config.vms
    assert (vm.name_label, [(v.mac, v.bridge) for v in vm.vifs]) == ("compute1", [(compute.nics[1].mac, "xenapi")])
    assert config.password_matches(PASSWORD)
    assert nodeos.xenstore_keys(compute, vm) == {"vm-data/himn_mac": compute.nics[1].mac, "domid": str(vm.domid),
                                                 "name": "compute1", "vm": f"/vm/{vm.uuid}"}


def test_himn_dhcp_leaves_out_the_gateway_when_the_network_says_ip_disable_gw():
    dom0_spec, compute = xenserver_pair(1, 1)
    config = dom0.default_xenserver(dom0_spec, [compute])
    assert dom0.himn_gateway(config)
    config.network_by_bridge("xenapi").other_config["ip_disable_gw"] = "true"
    assert not dom0.himn_gateway(config)
    assert "option router" not in dom0.udhcpd_conf(HIMN_DHCP_RANGE, gateway=False)


def test_dhcp_config_hands_himn_leases_like_xenserver():
    conf = dict(line.split(" ", 1) for line in dom0.udhcpd_conf(HIMN_DHCP_RANGE).splitlines()
                if line and not line.startswith("#"))
    assert (conf["start"], conf["end"], conf["interface"]) == ("169.254.0.2", "169.254.255.254", "xenapi")
    options = [line for line in dom0.udhcpd_conf(HIMN_DHCP_RANGE).splitlines() if line.startswith("option ")]
    assert "option subnet 255.255.0.0" in options and "option router 169.254.0.1" in options


def test_inventory_reports_the_configured_version():
    from lab.xenserver.config import HostConfig

    config = HostConfig.default("xs1", version="7.1.0")
    values = dict(line.split("=", 1) for line in dom0.inventory(config).splitlines())
    assert values["PRODUCT_VERSION"] == "'7.1.0'" and values["PLATFORM_VERSION"] == "'2.2.0'"
    assert values["INSTALLATION_UUID"] == f"'{config.uuid}'"


def test_every_system_dir_a_node_writes_is_an_overlay_or_private():
    mounts = host_mounts()
    for path in ("/etc", "/var", "/usr"):
        assert f"overlay:{path}" in mounts
    for path in ("/root", "/home", "/opt"):
        assert f"fresh:{path}" in mounts
    assert any(m.startswith("overlay:") and m.endswith("venv-node27/lib/python2.7/site-packages") for m in mounts)


@pytest.mark.parametrize("repo", ["/home/ci/work/fuel-plugin-xenserver", "/tmp/ci/fuel-plugin-xenserver"])
def test_a_repo_under_a_covered_dir_is_bound_back_right_after_it(monkeypatch, repo):
    from lab import runtime

    monkeypatch.setattr(runtime, "REPO", runtime.Path(repo))
    mounts = host_mounts()
    cover = "/".join(repo.split("/")[:2])
    index = mounts.index(f"bind:{repo}")
    assert mounts[index - 1] in (f"fresh:{cover}", f"tmpfs:{cover}")
    venv_overlays = {f"overlay:{p}" for venv in (runtime.NODE_VENV, runtime.TOOLING_VENV)
                     for p in runtime.site_packages(venv)}
    assert all(not m.startswith(("fresh:", "tmpfs:", "overlay:")) or m in venv_overlays
               for m in mounts[index + 1:])
    assert mounts[-1] == f"readonly:{repo}"
    assert runtime.repo_location_problem() is None


def test_a_repo_inside_a_system_overlay_is_refused(monkeypatch):
    from lab import runtime

    monkeypatch.setattr(runtime, "REPO", runtime.Path("/usr/src/fuel-plugin-xenserver"))
    assert "under /usr" in runtime.repo_location_problem()
