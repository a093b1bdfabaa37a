import os
import subprocess

import pytest
from post_fakes import FakeDom0, FakeNode
from runs import make_run

from xenserver_plugin import housekeeping, services, system


@pytest.fixture
def node(tmp_path, monkeypatch):
    monkeypatch.setattr(housekeeping, "MULTIPATH_CONF", str(tmp_path / "multipath.conf"))
    monkeypatch.setattr(services, "INIT_DIRS", (str(tmp_path / "init"), str(tmp_path / "init.d")))
    fake = FakeNode(str(tmp_path / "ip_forward"))
    monkeypatch.setattr(system, "run", fake.run)
    return fake


def dom0_with_conntrackd(tmp_path, version=(2, 1, 0)):
    root = tmp_path / "dom0"
    (root / "etc" / "conntrackd").mkdir(parents=True)
    (root / "etc" / "conntrackd" / "conntrackd.conf").write_text(u"Sync {\n}\n")
    return FakeDom0(str(root), platform_version=version)


def test_xenserver_7_gets_everything_once(node, tmp_path):
    dom0 = dom0_with_conntrackd(tmp_path)
    run = make_run()
    housekeeping.ensure(run, dom0)
    script = dom0.path(housekeeping.ROTATE_SCRIPT)
    assert os.stat(script).st_mode & 0o777 == 0o755
    assert housekeeping.ROTATE_SCRIPT in open(dom0.path(housekeeping.ROTATE_CRON)).read()
    assert "Stats {" in open(dom0.path(housekeeping.CONNTRACKD_CONF)).read()
    assert open(dom0.path(housekeeping.CONNTRACKD_BACKUP)).read() == "Sync {\n}\n"
    assert "/var/log/conntrackd" in open(dom0.path(housekeeping.CONNTRACKD_LOGROTATE)).read()
    assert dom0.enabled == {"conntrackd"} and dom0.restarts == ["conntrackd"]
    assert 'devnode "^xvd[a-z]"' in open(housekeeping.MULTIPATH_CONF).read()

    again = make_run()
    housekeeping.ensure(again, dom0)
    assert again.changes == [] and dom0.restarts == ["conntrackd"]
    assert open(dom0.path(housekeeping.CONNTRACKD_BACKUP)).read() == "Sync {\n}\n"


def test_xenserver_65_has_no_conntrackd_step(node, tmp_path):
    dom0 = FakeDom0(str(tmp_path), platform_version=(1, 9, 0))
    run = make_run()
    housekeeping.ensure(run, dom0)
    assert not any("conntrack" in change for change in run.changes)
    assert dom0.restarts == []


def test_dry_run_writes_nothing(node, tmp_path):
    dom0 = dom0_with_conntrackd(tmp_path)
    run = make_run(dry_run=True)
    housekeeping.ensure(run, dom0)
    assert len(run.changes) == 7
    assert not os.path.exists(dom0.path(housekeeping.ROTATE_SCRIPT))
    assert open(dom0.path(housekeeping.CONNTRACKD_CONF)).read() == "Sync {\n}\n"
    assert not os.path.exists(housekeeping.MULTIPATH_CONF) and dom0.restarts == []


def test_multipath_blacklist_kept_and_extended():
    text = 'defaults {\n\tuser_friendly_names yes\n}\nblacklist {\n\tdevnode "^sda"\n}\n'
    new = housekeeping.multipath_conf_ignoring_xvd(text)
    assert new == 'defaults {\n\tuser_friendly_names yes\n}\nblacklist {\n\tdevnode "^xvd[a-z]"\n\tdevnode "^sda"\n}\n'
    assert housekeeping.multipath_conf_ignoring_xvd(new) == new


def test_rotation_script_truncates_big_logs_and_drops_dead_domains(tmp_path):
    log_dir = tmp_path / "guest"
    log_dir.mkdir()
    (log_dir / "console.5.log").write_bytes(b"x" * (2 * 1024 * 1024))
    (log_dir / "console.9.log").write_bytes(b"old")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xenstore-list").write_text(u"#!/bin/sh\necho 0\necho 5\n")
    (bin_dir / "xenstore-write").write_text(u"#!/bin/sh\nexit 0\n")
    for name in ("xenstore-list", "xenstore-write"):
        os.chmod(str(bin_dir / name), 0o755)
    script = housekeeping.ROTATE_SCRIPT_TEXT.replace("LOG_DIR=/var/log/xen/guest", "LOG_DIR=%s" % log_dir)
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
    assert subprocess.call(["sh", "-c", script], env=env) == 0
    assert os.path.getsize(str(log_dir / "console.5.log")) == 512 * 1024
    assert not os.path.exists(str(log_dir / "console.9.log"))


def test_unit_state_systemctl_cannot_tell_is_left_alone(node, tmp_path):
    dom0 = dom0_with_conntrackd(tmp_path)
    dom0.units = set()
    run = make_run()
    housekeeping.ensure(run, dom0)
    assert dom0.enabled == set() and not any("at boot" in change for change in run.changes)
    again = make_run()
    housekeeping.ensure(again, dom0)
    assert again.changes == []
