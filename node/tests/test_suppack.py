"""The supplemental pack step against a fake Dom0 (C3 interface) that behaves like XenServer 7.0 or 7.1."""
import json
import os
import pickle

import pytest
import XenAPI

from xenserver_plugin import steps, suppack, system
from xenserver_plugin.errors import OperatorError

PLUGINS = ["dom0_plugin_version.py", "netwrap.py", "utils.py", "xenhost.py"]
UUID = "edf0d434-0d7e-5424-a18c-e205a24c6193"
HOST = "OpaqueRef:host-1"


@pytest.fixture
def pack(tmpdir):
    directory = tmpdir.mkdir("fuel-plugin-xenserver-4.0").mkdir("suppack")
    metadata = {"name": "xenapi-plugins", "version": "2.1", "build": "ecc1270b3341", "originator": "openstack",
                "source": "os-xenapi-0.3.4", "rpm": "xenapi-plugins-2.1-1.noarch.rpm",
                "legacy_iso": "xenapi-plugins-2.1-suppack.iso", "update_iso": "xenapi-plugins-2.1-update.iso",
                "update_uuid": UUID, "plugins_dir": "/etc/xapi.d/plugins",
                "version_plugin": "dom0_plugin_version.py", "plugins": PLUGINS}
    directory.join("suppack.json").write(json.dumps(metadata))
    return suppack.Pack.load(str(directory))


class FakeApi(object):
    def __init__(self, dom0):
        self.host = FakeHostClass(dom0)
        self.pool_update = FakePoolUpdateClass(dom0)


class FakeHostClass(object):
    def __init__(self, dom0):
        self.dom0 = dom0

    def call_plugin(self, host, plugin, fn, args):
        """Like xapi running an os-xenapi plugin: pickled args in, pickled (protocol 0) result out."""
        assert host == HOST and fn == "get_version"
        self.dom0.plugin_calls += 1
        if plugin not in self.dom0.plugins:
            raise XenAPI.Failure(["XENAPI_MISSING_PLUGIN", plugin])
        params = pickle.loads(args["params"].encode("ascii") if not isinstance(args["params"], bytes)
                              else args["params"])
        assert params == {"args": (), "kwargs": {}}
        reply = pickle.dumps(self.dom0.reported_version, 0)
        return reply.decode("ascii") if not isinstance(reply, str) else reply


class FakePoolUpdateClass(object):
    def __init__(self, dom0):
        self.dom0 = dom0

    def get_by_uuid(self, uuid):
        if uuid not in self.dom0.updates:
            raise XenAPI.Failure(["UUID_INVALID", "pool_update", uuid])
        return "OpaqueRef:update-" + uuid

    def get_hosts(self, ref):
        return list(self.dom0.updates[ref[len("OpaqueRef:update-"):]])

    def apply(self, ref, host):
        uuid = ref[len("OpaqueRef:update-"):]
        if self.dom0.apply_error:
            raise XenAPI.Failure(self.dom0.apply_error)
        if host in self.dom0.updates[uuid]:
            raise XenAPI.Failure(["UPDATE_ALREADY_APPLIED", ref])
        self.dom0.updates[uuid].append(host)
        self.dom0.install(self.dom0.pack_version)


class FakeSession(object):
    def __init__(self, dom0):
        self.xenapi = FakeApi(dom0)


class FakeDom0(object):
    """C3's Dom0 with XenServer's behaviour for packs; plugins installed = {name: mode}."""

    def __init__(self, platform_version, pack_version="2.1"):
        self.platform_version = platform_version
        self.host_ref = HOST
        self.xenapi = FakeSession(self)
        self.pack_version = pack_version
        self.plugins = {}
        self.reported_version = None
        self.updates = {}  # uuid -> [host refs it is applied on]
        self.commands = []
        self.copies = []
        self.temp_dirs = set()
        self.plugin_calls = 0
        self.apply_error = None
        self.install_exit = 0
        self.upload_race = False

    def install(self, version, plugins=PLUGINS, mode=0o755):
        self.plugins = dict((name, mode) for name in plugins)
        self.reported_version = version

    def ssh(self, argv, input_text=None, check=True):
        self.commands.append(list(argv))
        result = self._answer(list(argv))
        if check and result.returncode != 0:
            raise RuntimeError("%s exited %d" % (argv, result.returncode))
        return result

    def _answer(self, argv):
        if argv[0] == "mktemp":
            path = "/tmp/fuel-plugin-xenserver.%d" % len(self.commands)
            self.temp_dirs.add(path)
            return system.CommandResult(argv, 0, path + "\n", "")
        if argv[:3] == ["rm", "-rf", "--"]:
            self.temp_dirs.discard(argv[3])
            return system.CommandResult(argv, 0, "", "")
        if argv[0] == "find":
            assert argv[1] == "/etc/xapi.d/plugins"
            out = "".join("%o %s\n" % (mode, name) for name, mode in sorted(self.plugins.items()))
            return system.CommandResult(argv, 0, out, "")
        if argv[0] == "xe-install-supplemental-pack":
            self._assert_copied(argv[1])
            if self.install_exit:
                return system.CommandResult(argv, self.install_exit, "", "Error: disk full")
            self.install(self.pack_version)
            return system.CommandResult(argv, 0, "Pack installation successful.\n", "")
        if argv[:2] == ["xe", "update-upload"]:
            self._assert_copied(argv[2][len("file-name="):])
            if UUID in self.updates or self.upload_race:
                self.updates.setdefault(UUID, [])
                return system.CommandResult(argv, 1, "", "The uploaded update already exists\nuuid: %s\n" % UUID)
            self.updates[UUID] = []
            return system.CommandResult(argv, 0, UUID + "\n", "")
        raise AssertionError("unexpected Dom0 command %s" % argv)

    def _assert_copied(self, remote):
        assert any(copy[1] == remote for copy in self.copies), remote
        assert os.path.dirname(remote) in self.temp_dirs

    def copy_to(self, local_path, remote_path):
        self.copies.append((local_path, remote_path))


def installs(dom0):
    return [argv for argv in dom0.commands if argv[0] in ("xe-install-supplemental-pack", "xe")]


def test_legacy_install_then_nothing(pack):
    dom0 = FakeDom0((2, 1, 0))
    run = steps.Run()
    suppack.ensure(run, dom0, True, pack)
    assert len(run.changes) == 1 and "xenapi-plugins-2.1-suppack.iso" in run.changes[0]
    [(local, remote)] = dom0.copies
    assert local == os.path.join(pack.directory, "xenapi-plugins-2.1-suppack.iso")
    assert installs(dom0) == [["xe-install-supplemental-pack", remote]]
    assert not dom0.temp_dirs  # the temporary copy was removed
    again = steps.Run()
    dom0.commands, dom0.copies, dom0.plugin_calls = [], [], 0
    suppack.ensure(again, dom0, True, pack)
    assert again.changes == [] and dom0.copies == [] and installs(dom0) == []
    assert dom0.plugin_calls == 1 and len(dom0.commands) == 1  # measured once: version call + one find


def test_update_upload_apply_then_nothing(pack):
    dom0 = FakeDom0((2, 2, 0))
    run = steps.Run()
    suppack.ensure(run, dom0, True, pack)
    assert len(run.changes) == 2
    [(local, remote)] = dom0.copies
    assert local.endswith("xenapi-plugins-2.1-update.iso")
    assert installs(dom0) == [["xe", "update-upload", "file-name=" + remote]]
    assert dom0.updates == {UUID: [HOST]}
    assert not dom0.temp_dirs
    again = steps.Run()
    dom0.copies = []
    suppack.ensure(again, dom0, True, pack)
    assert again.changes == [] and dom0.copies == []


def test_update_already_uploaded_is_applied_without_copy(pack):
    dom0 = FakeDom0((2, 2, 0))
    dom0.updates[UUID] = []
    run = steps.Run()
    suppack.ensure(run, dom0, True, pack)
    assert run.changes == ["update xenapi-plugins 2.1 applied on this host"]
    assert dom0.copies == [] and dom0.updates[UUID] == [HOST]


def test_update_uploaded_meanwhile_is_applied(pack):
    dom0 = FakeDom0((2, 2, 0))
    dom0.upload_race = True  # "already exists" from xe update-upload
    suppack.ensure(steps.Run(), dom0, True, pack)
    assert dom0.updates[UUID] == [HOST] and not dom0.temp_dirs


def test_update_already_applied_error_means_done(pack):
    dom0 = FakeDom0((2, 2, 0))
    dom0.updates[UUID] = []
    dom0.apply_error = ["UPDATE_ALREADY_APPLIED", "OpaqueRef:update"]
    dom0.install("2.1")
    suppack.ensure(steps.Run(), dom0, True, pack)


def test_update_apply_refused(pack):
    dom0 = FakeDom0((2, 2, 0))
    dom0.apply_error = ["UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION", UUID, "7.0.0", "XenServer ge 7.1.0"]
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, True, pack)
    assert "UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION" in failure.value.cause
    assert "/var/www/nailgun/plugins/fuel-plugin-xenserver-4.0/deployment_scripts/suppack/" \
           "xenapi-plugins-2.1-update.iso" in failure.value.fix


def test_legacy_install_failure_removes_copy(pack):
    dom0 = FakeDom0((2, 1, 0))
    dom0.install_exit = 1
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, True, pack)
    assert "Error: disk full" in failure.value.cause
    assert not dom0.temp_dirs


def test_installed_but_wrong_version_fails(pack):
    dom0 = FakeDom0((2, 1, 0), pack_version="2.0")
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, True, pack)
    assert "reports version 2.0, this plugin needs 2.1" in failure.value.cause


def test_untick_without_plugins_fails_with_advice(pack):
    dom0 = FakeDom0((2, 1, 0))
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, False, pack)
    message = str(failure.value)
    assert "Install Nova Plugins" in message
    assert "dom0_plugin_version.py cannot be called (XENAPI_MISSING_PLUGIN dom0_plugin_version.py)" in message
    assert "none of its 4 plugin files is in /etc/xapi.d/plugins" in message
    assert "/var/www/nailgun/plugins/fuel-plugin-xenserver-4.0/deployment_scripts/suppack/" \
           "xenapi-plugins-2.1-suppack.iso" in message
    assert "xe-install-supplemental-pack xenapi-plugins-2.1-suppack.iso" in message
    assert dom0.copies == [] and installs(dom0) == []


def test_untick_on_71_names_the_update(pack):
    dom0 = FakeDom0((2, 2, 0))
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, False, pack)
    assert "xenapi-plugins-2.1-update.iso" in failure.value.fix and "update-upload" in failure.value.fix


def test_untick_with_incompatible_plugins_fails(pack):
    dom0 = FakeDom0((2, 1, 0))
    dom0.install("1.3")
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, False, pack)
    assert "reports version 1.3, this plugin needs 2.1" in failure.value.cause


def test_untick_with_plugins_by_hand_passes(pack):
    dom0 = FakeDom0((2, 2, 0))
    dom0.install("2.1")
    run = steps.Run()
    suppack.ensure(run, dom0, False, pack)
    assert run.changes == [] and dom0.plugin_calls == 1 and installs(dom0) == []


def test_not_executable_plugin_is_reported(pack):
    dom0 = FakeDom0((2, 1, 0))
    dom0.install("2.1")
    dom0.plugins["netwrap.py"] = 0o644
    del dom0.plugins["xenhost.py"]
    with pytest.raises(OperatorError) as failure:
        suppack.ensure(steps.Run(), dom0, False, pack)
    assert failure.value.cause.endswith("missing from /etc/xapi.d/plugins: xenhost.py; "
                                        "not executable in /etc/xapi.d/plugins: netwrap.py.")


def test_dry_run_changes_nothing(pack, capsys):
    for platform in ((2, 1, 0), (2, 2, 0)):
        dom0 = FakeDom0(platform)
        run = steps.Run(dry_run=True)
        suppack.ensure(run, dom0, True, pack)
        assert run.changes and dom0.copies == [] and installs(dom0) == [] and dom0.updates == {}
    assert "would change: update xenapi-plugins 2.1" in capsys.readouterr().out


def test_pickle_convention():
    text = suppack.pickled({"args": (), "kwargs": {}})
    assert isinstance(text, str)
    assert pickle.loads(text.encode("ascii")) == {"args": (), "kwargs": {}}
    assert suppack.unpickled("S'2.1'\np0\n.") == "2.1"  # what Dom0's Python 2 pickle.dumps returns
    with pytest.raises(pickle.UnpicklingError):
        suppack.unpickled("cos\nsystem\n(S'true'\ntR.")


def test_pack_description_missing(tmpdir):
    with pytest.raises(OperatorError) as failure:
        suppack.Pack.load(str(tmpdir))
    assert "Reinstall the plugin RPM" in failure.value.fix
