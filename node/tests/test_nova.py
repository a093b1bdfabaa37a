import grp
import os
import re
import stat

import pytest
from conftest import FIXTURES_DIR
from post_fakes import FakeNode
from runs import make_run

from xenserver_plugin import astute, ceilometer, nova, system

NODE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.environ.get("XENSERVER_PLUGIN_REFERENCE", os.path.join(
    os.path.dirname(os.path.dirname(NODE_DIR)), "shared", "reference"))
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SETTINGS = astute.Settings("root", "XenR00t-ha", True)
EXISTING = """[DEFAULT]
compute_driver=libvirt.LibvirtDriver
# keep me
[libvirt]
virt_type=kvm
"""


def reference_text(name):
    path = os.path.join(REFERENCE, name)
    if not os.path.exists(path):
        pytest.skip("reference file %s not found (set XENSERVER_PLUGIN_REFERENCE)" % path)
    with open(path) as stream:
        return stream.read()


def mitaka_xenserver_options():
    text = reference_text("nova-xenapi.txt")
    table = text.split("[xenserver] OPTIONS", 1)[1].split("DOM0 (XAPI) PLUGINS", 1)[0]
    return set(re.findall(r"^  (\w+)\s+(?:StrOpt|BoolOpt|IntOpt|FloatOpt)", table, re.MULTILINE))


def test_every_option_exists_in_nova_mitaka():
    known = mitaka_xenserver_options()
    assert "connection_url" in known and "cache_images" in known and len(known) > 40
    text = reference_text("nova-xenapi.txt")
    for section, key, _ in nova.options(SETTINGS, "192.168.0.8", "172.16.0.10", False):
        if section == "xenserver":
            assert key in known, key
        else:
            assert re.search(r"\b%s\b" % key, text), key


def test_a_misspelt_option_would_be_caught():
    assert "connection_user" not in mitaka_xenserver_options()


def test_ceilometer_uses_its_own_xenapi_section():
    assert ("DEFAULT", "hypervisor_inspector", "xenapi") in ceilometer.options(SETTINGS)


def test_console_url_follows_public_ssl():
    assert nova.novncproxy_base_url("172.16.0.10", False) == "http://172.16.0.10:6080/vnc_auto.html"
    assert nova.novncproxy_base_url("172.16.0.10", True) == "https://172.16.0.10:6080/vnc_auto.html"
    assert (nova.novncproxy_base_url("172.16.0.10", True, "public.fuel.local")
            == "https://public.fuel.local:6080/vnc_auto.html")
    assert nova.novncproxy_base_url("172.16.0.10", False, "public.fuel.local").startswith("http://172.16.0.10:")


def test_console_url_of_a_tls_fixture():
    path = os.path.join(FIXTURES_DIR, "noop", "neut_tun.multirack.murano.sahara.ceil.ceph.public_ssl-compute.yaml")
    if not os.path.exists(path):
        pytest.skip("fixture missing")
    node = astute.Node(astute.load(path))
    assert node.public_ssl
    url = nova.novncproxy_base_url(node.public_vip, node.public_ssl, node.public_hostname)
    assert url == "https://%s:6080/vnc_auto.html" % node.public_hostname


@pytest.fixture
def node(tmp_path, monkeypatch):
    path = tmp_path / "nova-compute.conf"
    path.write_text(u"" + EXISTING)
    os.chmod(str(path), 0o644)
    monkeypatch.setattr(nova, "NOVA_COMPUTE_CONF", str(path))
    monkeypatch.setattr(nova, "GROUP", MY_GROUP)
    fake = FakeNode(str(tmp_path / "ip_forward"))
    monkeypatch.setattr(system, "run", fake.run)
    return fake


def test_nova_compute_conf_written_then_unchanged(node):
    run = make_run()
    nova.ensure(run, SETTINGS, "192.168.0.8", "172.16.0.10", False)
    text = open(nova.NOVA_COMPUTE_CONF).read()
    conf = __import__("xenserver_plugin.ini", fromlist=["IniText"]).IniText(text)
    assert conf.get("DEFAULT", "compute_driver") == "xenapi.XenAPIDriver"
    assert conf.get("xenserver", "connection_password") == "XenR00t-ha"
    assert conf.get("xenserver", "vif_driver") == "nova.virt.xenapi.vif.XenAPIOpenVswitchDriver"
    assert conf.get("vnc", "vncserver_proxyclient_address") == "192.168.0.8"
    assert "# keep me" in text and conf.get("libvirt", "virt_type") == "kvm"
    assert stat.S_IMODE(os.stat(nova.NOVA_COMPUTE_CONF).st_mode) == 0o640
    assert node.restarts == ["nova-compute"]
    assert "XenR00t-ha" not in "\n".join(run.changes)

    again = make_run()
    nova.ensure(again, SETTINGS, "192.168.0.8", "172.16.0.10", False)
    assert again.changes == [] and node.restarts == ["nova-compute"]


def test_dry_run_neither_writes_nor_restarts(node):
    run = make_run(dry_run=True)
    nova.ensure(run, SETTINGS, "192.168.0.8", "172.16.0.10", True)
    assert open(nova.NOVA_COMPUTE_CONF).read() == EXISTING
    assert node.restarts == []
    assert len(run.changes) == 2 and "restarted" in run.changes[1]
