"""Every controller: nova.conf [cache] on the environment's memcached, console services restarted on change."""
import grp
import os

import pytest
from conftest import fixture_path
from runs import make_run

from xenserver_plugin import astute, controller, files, ini, system
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.tasks import controller_post_deployment

MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SERVERS = "192.168.0.3:11211,192.168.0.4:11211,192.168.0.5:11211"
# The shape of a Fuel 9.0 controller's nova.conf (comments and sample lines as the package ships them).
NOVA_CONF = """[DEFAULT]
# Options defined in nova.availability_zones
default_availability_zone = nova
novncproxy_host = 192.168.0.3
[cache]
#
# From nova.conf
#

# Global toggle for caching. (boolean value)
#enabled = false

# Dogpile.cache backend module. (string value)
#backend = dogpile.cache.null

[keystone_authtoken]
auth_uri = http://192.168.0.2:5000/
memcached_servers = %s
signing_dir = /tmp/keystone-signing-nova
""" % SERVERS


class Services(object):
    """`service X restart` calls instead of real ones."""

    def __init__(self):
        self.restarted = []

    def run(self, argv, input_text=None, check=True, env=None, timeout=None, new_session=False):
        assert argv[0] == "service" and argv[2] == "restart", argv
        self.restarted.append(argv[1])
        return system.CommandResult(argv, 0, "", "")


@pytest.fixture
def services(monkeypatch):
    fake = Services()
    monkeypatch.setattr(system, "run", fake.run)
    return fake


@pytest.fixture
def nova_conf(tmpdir):
    path = tmpdir.join("nova.conf")
    path.write(NOVA_CONF)
    path.chmod(0o640)
    return str(path)


def test_cache_uses_keystone_authtokens_servers_and_keeps_the_rest(nova_conf, services):
    run = make_run()
    assert controller.ensure_console_cache(run, {}, nova_conf=nova_conf)
    text = files.read(nova_conf)
    conf = ini.IniText(text)
    assert conf.get("cache", "enabled") == "true"
    assert conf.get("cache", "backend") == "oslo_cache.memcache_pool"
    assert conf.get("cache", "memcache_servers") == SERVERS
    assert "# Global toggle for caching. (boolean value)" in text and "#enabled = false" in text
    assert text.index("#enabled = false") < text.index("enabled = true") < text.index("[keystone_authtoken]")
    assert conf.get("DEFAULT", "novncproxy_host") == "192.168.0.3"
    assert files.mode_of(nova_conf) == 0o640 and files.group_of(nova_conf) == MY_GROUP
    assert services.restarted == ["nova-novncproxy", "nova-consoleauth"]


def test_second_run_changes_and_restarts_nothing(nova_conf, services):
    controller.ensure_console_cache(make_run(), {}, nova_conf=nova_conf)
    before = files.read(nova_conf)
    run = make_run()
    assert not controller.ensure_console_cache(run, {}, nova_conf=nova_conf)
    assert run.changes == [] and files.read(nova_conf) == before
    assert services.restarted == ["nova-novncproxy", "nova-consoleauth"]


def test_dry_run_changes_nothing(nova_conf, services):
    run = make_run(dry_run=True)
    controller.ensure_console_cache(run, {}, nova_conf=nova_conf)
    assert files.read(nova_conf) == NOVA_CONF and services.restarted == []
    assert "memcache_servers" in run.out.getvalue() and "restarted" in run.out.getvalue()


def test_servers_from_astute_when_nova_conf_has_none():
    path = fixture_path("nailgun", "xs-ha", "primary-controller-node9.yaml")
    if not os.path.exists(path):
        pytest.skip("shared fixtures not found")
    data = astute.load(path)
    servers = controller.memcached_servers("[DEFAULT]\n", data)
    controllers = [node for node in data["network_metadata"]["nodes"].values()
                   if set(node["node_roles"]) & {"controller", "primary-controller"}]
    assert len(servers) == len(controllers) == 3
    assert all(server.startswith("192.168.0.") and server.endswith(":11211") for server in servers)
    assert servers == sorted(servers, key=lambda server: [
        int(node["uid"]) for node in controllers if node["network_roles"]["mgmt/memcache"] + ":11211" == server])


def test_no_memcached_anywhere_is_an_operator_error(tmpdir, services):
    path = tmpdir.join("nova.conf")
    path.write("[DEFAULT]\n")
    with pytest.raises(OperatorError) as raised:
        controller.ensure_console_cache(make_run(), {}, nova_conf=str(path))
    assert "memcached" in str(raised.value) and services.restarted == []


def test_missing_nova_conf_is_an_operator_error(tmpdir):
    with pytest.raises(OperatorError):
        controller.ensure_console_cache(make_run(), {}, nova_conf=str(tmpdir.join("absent.conf")))


def test_task_on_a_fixture_controller(tmpdir, nova_conf, services, monkeypatch, capsys):
    path = fixture_path("nailgun", "xs-ha", "controller-node10.yaml")
    if not os.path.exists(path):
        pytest.skip("shared fixtures not found")
    monkeypatch.setattr(controller, "NOVA_CONF", nova_conf)
    argv = ["--astute", path, "--log-dir", str(tmpdir.join("log"))]
    assert controller_post_deployment.main(argv) == 0
    assert controller_post_deployment.main(argv) == 0
    out = capsys.readouterr().out
    assert "made 3 changes" in out and "made 0 changes" in out
