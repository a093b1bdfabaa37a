"""The compute_pre_test task end to end over fakes: HIMN, host check, Dom0 trust; re-run, dry run, failures."""
import io
import os
import sys

import pytest
from conftest import fixture_path
from pre_fakes import PASSWORD, FakeNetwork, FakeSession, FakeSshd, Recorder

from xenserver_plugin import dom0, himn
from xenserver_plugin.tasks import compute_pre_test

COMPUTE = fixture_path("nailgun", "xs-ha", "compute-node12.yaml")
NOOP_COMPUTE = fixture_path("noop", "neut_vlan.ceph-compute.yaml")


class World(object):
    """The node (network, files under tmp), its Dom0 (sshd, XenAPI) and how many of each the task opened."""

    def __init__(self, tmp_path, monkeypatch):
        self.tmp = tmp_path
        self.net = FakeNetwork()
        self.sshd = FakeSshd()
        self.session_kwargs = {}
        self.sessions = []
        self.dom0s = []
        network = tmp_path / "etc" / "network"
        (network / "interfaces.d").mkdir(parents=True)
        (network / "interfaces").write_text(u"auto lo\nsource %s/*\n" % (network / "interfaces.d"))
        monkeypatch.setattr(himn, "INTERFACES_FILE", str(network / "interfaces"))
        monkeypatch.setattr(himn, "INTERFACES_DIR", str(network / "interfaces.d"))
        monkeypatch.setattr(himn, "NO_DEFAULT_ROUTE_HOOK", str(tmp_path / "etc" / "dhcp" / "xenserver-himn"))
        monkeypatch.setattr(compute_pre_test, "local_network", lambda: self.net)
        monkeypatch.setattr(compute_pre_test, "open_dom0", self.open_dom0)
        self.recorder = Recorder(self.answer)

    def answer(self, argv, input_text):
        self.sshd.env = self.recorder.calls[-1]["env"]
        return self.sshd(argv, input_text)

    def session(self, url):
        assert url == "http://169.254.0.1"
        session = FakeSession(**self.session_kwargs)
        self.sessions.append(session)
        return session

    def open_dom0(self, settings):
        host = dom0.Dom0(settings, ssh_dir=str(self.tmp / "root-ssh"), run_command=self.recorder,
                         session_factory=self.session)
        self.dom0s.append(host)
        return host

    def main(self, *args, **kwargs):
        astute_path = kwargs.get("astute", COMPUTE)
        out = io.StringIO() if str is not bytes else io.BytesIO()
        stdout, sys.stdout = sys.stdout, out
        try:
            code = compute_pre_test.main(["--astute", astute_path, "--log-dir", str(self.tmp / "log")] + list(args))
        finally:
            sys.stdout = stdout
        return code, out.getvalue()

    def log(self):
        return (self.tmp / "log" / "compute_pre_test.log").read_text()


@pytest.fixture
def world(tmp_path, monkeypatch):
    return World(tmp_path, monkeypatch)


def test_fresh_node_then_second_run_changes_nothing(world):
    code, out = world.main()
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("compute_pre_test: made 7 changes; HIMN eth3 169.254.0.5/16; XenServer 7.0.0"), out
    assert "changed: probe" not in out and "changed: Dom0 root@169.254.0.1 authorizes" in out
    assert os.path.exists(himn.ifcfg_path("eth3"))
    assert world.sshd.masters == 1 and len(world.sessions) == 1
    assert world.sessions[0].logins == 1 and not world.sessions[0].logged_in  # logged out at the end
    assert not world.sshd.master_up  # master closed at the end

    code, out = world.main()
    assert code == 0 and out.strip().splitlines()[-1].startswith("compute_pre_test: made 0 changes;"), out
    assert "changed:" not in out
    assert world.sshd.masters == 2 and len(world.sessions) == 2

    log = world.log()
    assert PASSWORD not in log and PASSWORD not in out


def test_dry_run_on_a_fresh_node_changes_nothing(world):
    code, out = world.main("--dry-run")
    assert code == 0, out
    assert "would change: probe eth3 by DHCP" in out
    assert "would make" in out.strip().splitlines()[-1] and "HIMN link is not up yet" in out
    assert os.listdir(himn.INTERFACES_DIR) == [] and world.net.calls == []
    assert world.recorder.calls == [] and world.sessions == []


def test_dry_run_after_deployment_makes_no_change(world):
    world.main()
    code, out = world.main("--dry-run")
    assert code == 0 and out.strip().splitlines()[-1].startswith("compute_pre_test: would make 0 changes;"), out


def test_plugin_section_missing(world):
    code, out = world.main(astute=NOOP_COMPUTE)
    assert code == 1
    assert out.count("\n") == 1 and "section is missing" in out and "Traceback" not in out
    assert world.net.calls == []


def test_wrong_password_fails_before_dom0_is_touched_over_ssh(world):
    world.session_kwargs = {"password": "something-else"}
    code, out = world.main()
    last = out.strip().splitlines()[-1]
    assert code == 1 and "SESSION_AUTHENTICATION_FAILED" in last and "Settings tab" in last
    assert not [call for call in world.recorder.calls if call["argv"][0] == "ssh"]


@pytest.mark.parametrize("kwargs,message", [
    ({"product": "6.5.0", "platform": "1.9.0"}, "lacks the required hotfix XS65ESP1013"),
    ({"product": "7.2.0", "platform": "2.3.0"}, "is not supported"),
    ({"sr_type": "lvm"}, "not a file-based one"),
])
def test_unsupported_host(world, kwargs, message):
    world.session_kwargs = kwargs
    code, out = world.main()
    assert code == 1 and message in out, out
    assert len(world.sessions) == 1 and not world.sessions[0].logged_in


def test_dom0_unreachable_over_ssh(world):
    world.sshd.reachable = False
    code, out = world.main()
    assert code == 1 and "Cannot reach Dom0 at 169.254.0.1 over SSH" in out


def test_dhcp_answer_outside_link_local(world):
    world.net = FakeNetwork(dhcp={"eth3": "10.10.0.5/24"}, xenstore_mac="00:16:3e:00:00:03")
    code, out = world.main()
    assert code == 1 and "eth3" in out and "outside" in out and "HIMN tool" in out
    assert os.listdir(himn.INTERFACES_DIR) == []
