import grp
import os
import stat

import pytest
from post_fakes import FakeNode
from runs import make_run

from xenserver_plugin import astute, ceilometer, ini, services, system

MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SETTINGS = astute.Settings("root", "XenR00t-ha", True)


@pytest.fixture
def node(tmp_path, monkeypatch):
    conf = tmp_path / "ceilometer.conf"
    conf.write_text(u"[DEFAULT]\nverbose = True\n[database]\nconnection = mongodb://x\n")
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "ceilometer-polling.conf").write_text(u"")
    monkeypatch.setattr(ceilometer, "CEILOMETER_CONF", str(conf))
    monkeypatch.setattr(ceilometer, "GROUP", MY_GROUP)
    monkeypatch.setattr(services, "INIT_DIRS", (str(tmp_path / "init"), str(tmp_path / "init.d")))
    fake = FakeNode(str(tmp_path / "ip_forward"))
    monkeypatch.setattr(system, "run", fake.run)
    return fake


def test_disabled_does_nothing(node):
    run = make_run()
    assert not ceilometer.ensure(run, SETTINGS, False)
    assert run.changes == [] and node.calls == []
    assert "xenapi" not in open(ceilometer.CEILOMETER_CONF).read()


def test_enabled_configures_xenapi_inspector_and_restarts_polling_once(node):
    run = make_run()
    ceilometer.ensure(run, SETTINGS, True)
    conf = ini.IniText(open(ceilometer.CEILOMETER_CONF).read())
    assert conf.get("DEFAULT", "hypervisor_inspector") == "xenapi"
    assert conf.get("DEFAULT", "verbose") == "True"
    assert conf.get("xenapi", "connection_url") == "http://169.254.0.1"
    assert conf.get("xenapi", "connection_password") == "XenR00t-ha"
    assert stat.S_IMODE(os.stat(ceilometer.CEILOMETER_CONF).st_mode) == 0o640
    assert node.restarts == ["ceilometer-polling"]
    again = make_run()
    ceilometer.ensure(again, SETTINGS, True)
    assert again.changes == [] and node.restarts == ["ceilometer-polling"]


def test_ubuntu_service_name_when_that_is_the_one_installed(node, tmp_path):
    os.unlink(str(tmp_path / "init" / "ceilometer-polling.conf"))
    (tmp_path / "init" / "ceilometer-agent-compute.conf").write_text(u"")
    ceilometer.ensure(make_run(), SETTINGS, True)
    assert node.restarts == ["ceilometer-agent-compute"]
