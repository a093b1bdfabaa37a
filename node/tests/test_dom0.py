"""Dom0 access: key trust with the password once, one SSH master, one XenAPI session, clear failures."""
import io
import os
import socket
import subprocess
import threading

import pytest
from pre_fakes import PASSWORD, FakeSession, FakeSshd, Recorder, option

from xenserver_plugin import astute, dom0
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.steps import Run

SETTINGS = astute.Settings("root", PASSWORD, True)


class Harness(object):
    def __init__(self, tmp_path, sshd):
        self.ssh_dir = str(tmp_path / "ssh")
        self.sshd = sshd
        self.recorder = Recorder(self.answer)

    def answer(self, argv, input_text):
        self.sshd.env = self.recorder.calls[-1]["env"]
        return self.sshd(argv, input_text)

    def dom0(self, session=None):
        return dom0.Dom0(SETTINGS, ssh_dir=self.ssh_dir, run_command=self.recorder,
                         session_factory=lambda url: session or FakeSession())

    def trust(self, dry_run=False):
        run = Run(dry_run=dry_run, out=io.StringIO() if str is not bytes else io.BytesIO())
        host = self.dom0()
        try:
            connected = dom0.ensure_trust(run, host)
            if connected:
                host.ssh(["echo", "ok"])
        finally:
            control_dir = host._control_dir
            host.close()
        assert control_dir is None or not os.path.exists(control_dir)
        return run, connected


@pytest.fixture
def harness(tmp_path):
    return Harness(tmp_path, FakeSshd())


def test_first_trust_then_nothing(harness):
    run, connected = harness.trust()
    assert connected
    assert len(run.changes) == 3, run.changes
    assert "SSH key" in run.changes[0] and "host key recorded" in run.changes[1]
    assert "password used once" in run.changes[2]
    assert oct(os.stat(os.path.join(harness.ssh_dir, dom0.KEY_NAME)).st_mode & 0o777) == oct(0o600)
    assert open(os.path.join(harness.ssh_dir, dom0.KNOWN_HOSTS_NAME)).read() == FakeSshd.HOST_KEY
    assert harness.sshd.masters == 1
    # The password went to the askpass helper's environment only: no argv, no file, no stdin.
    for call in harness.recorder.calls:
        assert PASSWORD not in " ".join(call["argv"])
        assert PASSWORD not in (call["input"] or "")
    with_secret = [call for call in harness.recorder.calls if dom0.SECRET_VARIABLE in (call["env"] or {})]
    assert len(with_secret) == 1
    assert PASSWORD not in harness.sshd.askpass_text
    assert option(harness.sshd.password_argv, "StrictHostKeyChecking") == "yes"
    assert option(harness.sshd.password_argv, "NumberOfPasswordPrompts") == "1"
    for root, _, names in os.walk(harness.ssh_dir):
        for name in names:
            assert PASSWORD not in open(os.path.join(root, name)).read()

    harness.recorder.calls = []
    run, connected = harness.trust()
    assert connected and run.changes == []
    assert harness.sshd.masters == 2
    assert not [call for call in harness.recorder.calls if dom0.SECRET_VARIABLE in (call["env"] or {})]
    assert not [call for call in harness.recorder.calls if call["argv"][0] == "ssh-keygen"]


def test_every_command_rides_on_the_one_master(harness):
    harness.sshd.authorized = True
    host = harness.dom0()
    run = Run(out=io.StringIO() if str is not bytes else io.BytesIO())
    dom0.ensure_trust(run, host)
    host.ssh(["sh", "-c", 'cat > "$1"', "sh", "/etc/a file"], input_text="x")
    host.copy_to(__file__, "/tmp/x y")
    result = host.ssh(["echo", "$HOME", "it's"])
    host.close()
    assert harness.sshd.masters == 1
    assert result.out == "remote output\n" and result.argv == ["echo", "$HOME", "it's"]
    commands = [command for command, _ in harness.sshd.remote]
    assert commands[0] == "sh -c 'cat > \"$1\"' sh '/etc/a file'"
    assert commands[2] == "echo '$HOME' 'it'\"'\"'s'"
    assert [call["stdin_path"] for call in harness.recorder.calls if call["stdin_path"]] == [__file__]
    assert harness.recorder.calls[-1]["argv"][-3:] == ["-O", "exit", "root@169.254.0.1"]


def test_wrong_password(tmp_path):
    harness = Harness(tmp_path, FakeSshd(password="other"))
    with pytest.raises(OperatorError) as error:
        harness.trust()
    assert "refused the XenServer password" in error.value.cause and "Settings tab" in error.value.fix


def test_unreachable(tmp_path):
    harness = Harness(tmp_path, FakeSshd(reachable=False))
    with pytest.raises(OperatorError) as error:
        harness.trust()
    assert "Cannot reach Dom0 at 169.254.0.1 over SSH" in str(error.value) and "timed out" in str(error.value)


def test_changed_host_key_is_refused(harness):
    harness.trust()
    harness.sshd.host_key = "169.254.0.1 ssh-ed25519 AAAAimpostor\n"
    with pytest.raises(OperatorError) as error:
        harness.trust()
    assert "different from the one recorded" in error.value.cause
    assert dom0.KNOWN_HOSTS_NAME in error.value.fix


def test_dry_run_on_a_fresh_node_runs_nothing(harness):
    run, connected = harness.trust(dry_run=True)
    assert not connected and len(run.changes) == 2
    assert harness.recorder.calls == []
    assert not os.path.exists(harness.ssh_dir)


def test_dry_run_with_key_not_yet_authorized(harness):
    harness.trust()
    harness.sshd.authorized = False
    harness.recorder.calls = []
    run, connected = harness.trust(dry_run=True)
    assert not connected and len(run.changes) == 1 and "authorizes" in run.changes[0]
    assert not [call for call in harness.recorder.calls if dom0.SECRET_VARIABLE in (call["env"] or {})]


def test_askpass_helper_prints_the_secret_from_its_environment(tmp_path):
    path = tmp_path / "askpass"
    path.write_text(u"" + dom0.ASKPASS_TEXT)
    os.chmod(str(path), 0o700)
    secret = "p'a$s w\"d%s\\n"
    env = {dom0.SECRET_VARIABLE: secret, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.check_output([str(path), "Password:"], env=env)
    assert out.decode("utf-8") == secret + "\n"
    assert secret not in dom0.ASKPASS_TEXT


# --- XenAPI ---------------------------------------------------------------------------------------------

def test_one_xenapi_session_and_versions(harness):
    session = FakeSession(product="7.1.0", platform="2.2.0")
    host = harness.dom0(session)
    assert host.platform_version == (2, 2, 0) and host.product_version == (7, 1, 0)
    assert host.host_ref == "OpaqueRef:host"
    host.xenapi.xenapi.host.get_name_label(host.host_ref)
    assert session.logins == 1
    host.close()
    assert session.calls[-1] == "session.logout" and not session.logged_in
    host.close()  # twice is fine


def test_wrong_password_maps_xenapi_failure(harness):
    host = harness.dom0(FakeSession(password="other"))
    with pytest.raises(OperatorError) as error:
        _ = host.host_ref
    assert "SESSION_AUTHENTICATION_FAILED" in error.value.cause and "Settings tab" in error.value.fix
    assert PASSWORD not in str(error.value)


def test_unreachable_xenapi(harness):
    host = harness.dom0(FakeSession(unreachable=socket.error(113, "No route to host")))
    with pytest.raises(OperatorError) as error:
        _ = host.xenapi
    assert "Cannot reach XenAPI at http://169.254.0.1" in str(error.value)


def test_real_sdk_times_out_on_a_silent_server():
    """The XenAPI SDK with our transport gives up on a server that accepts and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()))
    thread.daemon = True
    thread.start()
    host = dom0.Dom0(SETTINGS, address="127.0.0.1:%d" % port,
                     session_factory=lambda url: dom0.xenapi_session(url, timeout=0.5))
    try:
        with pytest.raises(OperatorError) as error:
            _ = host.xenapi
        assert "Cannot reach XenAPI" in str(error.value)
    finally:
        server.close()


def test_version_tuple():
    assert dom0.version_tuple("2.1.0") == (2, 1, 0)
    assert dom0.version_tuple("7.1.2-beta") == (7, 1, 2)
