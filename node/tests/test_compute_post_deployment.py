"""The compute post-deployment task end to end on a real Fuel 9 astute.yaml, with a fake node and Dom0."""
import grp
import os

import pytest
import yaml
from conftest import FIXTURES_DIR
from post_fakes import FakeDom0, FakeNode

from xenserver_plugin import (
    ceilometer,
    gateway,
    housekeeping,
    image_cache,
    neutron,
    nova,
    services,
    suppack,
    system,
    xenapi_module,
)
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.tasks import compute_post_deployment as task

COMPUTE = os.path.join(FIXTURES_DIR, "nailgun", "xs-ha", "compute-node12.yaml")
NOOP_COMPUTE = os.path.join(FIXTURES_DIR, "noop", "neut_vlan.ceph-compute.yaml")
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
PASSWORD = "XenR00t-ha"


class World(object):
    """Everything the task touches, under tmp_path."""

    def __init__(self, tmp_path, monkeypatch):
        self.tmp = tmp_path
        self.root = tmp_path / "node"
        for directory in ("etc/nova", "etc/neutron/plugins/ml2", "etc/ceilometer", "etc/init", "proc", "dist",
                          "dom0", "log"):
            (self.root / directory).mkdir(parents=True)
        (self.root / "proc" / "ip_forward").write_text(u"0\n")
        (self.root / "etc" / "sysctl.conf").write_text(u"#net.ipv4.ip_forward=1\n")
        (self.root / "etc" / "nova" / "nova-compute.conf").write_text(u"[DEFAULT]\ncompute_driver=libvirt\n")
        (self.root / "etc" / "neutron" / "rootwrap.conf").write_text(u"[xenapi]\nxenapi_connection_url=<None>\n")
        (self.root / "etc" / "neutron" / "plugins" / "ml2" / "openvswitch_agent.ini").write_text(u"[ovs]\n")
        paths = {
            (gateway, "IP_FORWARD_PROC"): "proc/ip_forward", (gateway, "SYSCTL_CONF"): "etc/sysctl.conf",
            (gateway, "RULES_V4"): "etc/iptables/rules.v4",
            (nova, "NOVA_COMPUTE_CONF"): "etc/nova/nova-compute.conf",
            (neutron, "ROOTWRAP_CONF"): "etc/neutron/rootwrap.conf",
            (neutron, "OVS_AGENT_INI"): "etc/neutron/plugins/ml2/openvswitch_agent.ini",
            (ceilometer, "CEILOMETER_CONF"): "etc/ceilometer/ceilometer.conf",
            (housekeeping, "MULTIPATH_CONF"): "etc/multipath.conf",
            (image_cache, "TOOL_PATH"): "usr/local/bin/xenserver-image-cache-cleanup",
            (image_cache, "CRON_PATH"): "etc/cron.d/xenserver-image-cache-cleanup",
        }
        for (module, name), relative in paths.items():
            monkeypatch.setattr(module, name, str(self.root / relative))
        monkeypatch.setattr(gateway, "PERSISTENCE_TOOLS", ())
        for module in (nova, neutron, ceilometer):
            monkeypatch.setattr(module, "GROUP", MY_GROUP)
        monkeypatch.setattr(services, "INIT_DIRS", (str(self.root / "etc/init"), str(self.root / "etc/init.d")))
        monkeypatch.setattr(xenapi_module, "target_dir", lambda python=None: str(self.root / "dist"))
        monkeypatch.setattr(xenapi_module, "importable", lambda python=None: True)
        self.node = FakeNode(str(self.root / "proc" / "ip_forward"), macs={"eth2": "00:16:3e:aa:bb:02"})
        monkeypatch.setattr(system, "run", self.node.run)
        self.dom0 = FakeDom0(str(self.root / "dom0"))
        monkeypatch.setattr(task, "open_dom0", lambda settings: self.dom0)
        self.suppack_calls = []
        self.pack = object()
        self.pack_missing = False
        monkeypatch.setattr(suppack.Pack, "load", classmethod(lambda cls: self.load_pack()))
        monkeypatch.setattr(suppack, "ensure", lambda run, dom0, install_xapi, pack: self.suppack_calls.append(
            (dom0, install_xapi, pack)))

    def load_pack(self):
        if self.pack_missing:
            raise OperatorError("The plugin's supplemental pack description is missing.", "Reinstall the plugin.")
        return self.pack

    def main(self, *args, **kwargs):
        astute_path = kwargs.get("astute", COMPUTE)
        return task.main(["--astute", astute_path, "--log-dir", str(self.root / "log")] + list(args))

    def snapshot(self):
        """Every file under the node root with its content, plus iptables and Dom0 routes."""
        found = {}
        for directory, _, names in os.walk(str(self.root)):
            for name in names:
                path = os.path.join(directory, name)
                if "/log/" not in path:
                    with open(path, "rb") as stream:
                        found[path] = (stream.read(), os.stat(path).st_mode)
        return found, repr(self.node.rules), repr(sorted(self.dom0.routes.items()))


@pytest.fixture
def world(tmp_path, monkeypatch):
    if not os.path.exists(COMPUTE):
        pytest.skip("Fuel fixtures not found at %s" % FIXTURES_DIR)
    return World(tmp_path, monkeypatch)


def test_first_run_configures_second_run_changes_nothing(world, capsys):
    assert world.main() == 0
    first = capsys.readouterr().out
    assert "compute_post_deployment: made" in first and "made 0 changes" not in first
    assert world.dom0.routes["192.168.0.0/24"] == "169.254.0.2"
    assert world.dom0.routes["192.168.1.0/24"] == "169.254.0.2"
    assert ["-i", "eth3", "-j", "ACCEPT"] in world.node.rules["filter"]["INPUT"]
    assert "physnet2:xenbr2" in open(neutron.OVS_AGENT_INI).read()
    assert "connection_url = http://169.254.0.1" in open(nova.NOVA_COMPUTE_CONF).read()
    assert not os.path.exists(ceilometer.CEILOMETER_CONF)  # Ceilometer is off in this environment
    assert sorted(world.node.restarts) == ["neutron-openvswitch-agent", "nova-compute"]
    assert world.suppack_calls == [(world.dom0, True, world.pack)]
    assert world.dom0.closed
    assert os.path.exists(os.path.join(str(world.root / "dist"), "XenAPI", "XenAPI.py"))
    before = world.snapshot()

    assert world.main() == 0
    assert "compute_post_deployment: made 0 changes" in capsys.readouterr().out
    assert world.snapshot() == before
    assert sorted(world.node.restarts) == ["neutron-openvswitch-agent", "nova-compute"]


def test_password_never_in_log_output_or_arguments(world, capsys):
    world.main()
    world.main("--dry-run")
    log = open(str(world.root / "log" / "compute_post_deployment.log")).read()
    assert PASSWORD not in log and PASSWORD not in capsys.readouterr().out
    assert not any(PASSWORD in arg for call in world.node.calls + world.dom0.calls for arg in call)
    for path in (nova.NOVA_COMPUTE_CONF, neutron.ROOTWRAP_CONF):
        assert PASSWORD in open(path).read() and os.stat(path).st_mode & 0o777 == 0o640


def test_dry_run_lists_changes_and_makes_none(world, capsys):
    before = world.snapshot()
    assert world.main("--dry-run") == 0
    out = capsys.readouterr().out
    assert "would change: Dom0 routes 192.168.1.0/24" in out
    assert "would change: iptables nat: -A POSTROUTING -o br-storage -j MASQUERADE" in out
    assert "would make" in out
    assert world.snapshot() == before and world.node.restarts == []


def test_no_private_vif_fails_before_any_change(world, capsys):
    world.node.macs["eth2"] = "00:16:3e:00:00:99"
    before = world.snapshot()
    assert world.main() == 1
    out = capsys.readouterr().out
    assert "No VIF with the MAC 00:16:3e:00:00:99" in out and "Traceback" not in out
    assert world.snapshot() == before


def test_missing_plugin_section_fails_clearly(world, capsys):
    if not os.path.exists(NOOP_COMPUTE):
        pytest.skip("noop fixture missing")
    assert world.main(astute=NOOP_COMPUTE) == 1
    assert "section is missing" in capsys.readouterr().out


def test_empty_password_fails_clearly(world, capsys, tmp_path):
    with open(COMPUTE) as stream:
        data = yaml.safe_load(stream)
    data["fuel-plugin-xenserver"]["password"] = ""
    path = str(tmp_path / "astute.yaml")
    with open(path, "w") as stream:
        yaml.safe_dump(data, stream)
    assert world.main(astute=path) == 1
    assert "password" in capsys.readouterr().out
    assert world.node.calls == []


def test_missing_pack_fails_before_any_change(world, capsys):
    world.pack_missing = True
    before = world.snapshot()
    assert world.main() == 1
    assert "supplemental pack description is missing" in capsys.readouterr().out
    assert world.snapshot() == before


def test_read_only_dist_packages_fails_before_any_change(world, capsys, monkeypatch):
    os.chmod(str(world.root / "dist"), 0o555)
    monkeypatch.setattr(os, "access", lambda path, mode: not path.endswith("/dist"))
    before = world.snapshot()
    assert world.main() == 1
    out = capsys.readouterr().out
    assert "Cannot install the XenAPI SDK" in out and "is not writable" in out
    assert world.snapshot() == before
    os.chmod(str(world.root / "dist"), 0o755)


def test_unwritable_dist_packages_is_an_operator_error(world, capsys, monkeypatch):
    from xenserver_plugin import files

    write_atomic = files.write_atomic

    def read_only(path, *args, **kwargs):
        if "/dist/" in path:
            raise OSError(30, "Read-only file system")
        return write_atomic(path, *args, **kwargs)

    monkeypatch.setattr(files, "write_atomic", read_only)
    assert world.main() == 1
    out = capsys.readouterr().out
    assert "Cannot install the XenAPI SDK" in out and "Read-only file system" in out


def test_unticked_install_xapi_with_broken_plugins_fails_before_any_change(world, capsys, monkeypatch):
    def broken(run, dom0, install_xapi, pack):
        raise OperatorError("The Dom0 plugins are missing.", "Tick Install Nova Plugins or install the pack.")

    monkeypatch.setattr(suppack, "ensure", broken)
    before = world.snapshot()
    assert world.main() == 1
    assert "Dom0 plugins are missing" in capsys.readouterr().out
    assert world.snapshot() == before


def test_missing_service_group_fails_before_any_change(world, capsys, monkeypatch):
    monkeypatch.setattr(neutron, "GROUP", "no-such-group-h4b")
    before = world.snapshot()
    assert world.main() == 1
    assert "no-such-group-h4b does not exist" in capsys.readouterr().out
    assert world.snapshot() == before
