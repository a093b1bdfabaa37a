"""Bad input and failures of up/down: clear errors, nothing left behind."""
import shutil
import subprocess
import time

import pytest

from lab import dom0, namespaces, nodeos, runtime
from lab.errors import LabError
from lab.paths import FILES
from lab.spec import LabSpec

from .conftest import leftovers
from .specs import unique_prefix, xenserver_pair

pytestmark = pytest.mark.lab
PREFIX_C, PREFIX_D, PREFIX_E, PREFIX_F, PREFIX_G, PREFIX_H = (unique_prefix(t) for t in "cdefgh")


@pytest.fixture(scope="module", autouse=True)
def drop_state_dirs():
    yield
    for prefix in (PREFIX_C, PREFIX_D, PREFIX_E, PREFIX_F, PREFIX_G, PREFIX_H):
        if not runtime.is_up(prefix):
            shutil.rmtree(runtime.state_dir_for(prefix), ignore_errors=True)


def test_a_failed_up_removes_everything_it_made(monkeypatch):
    made = []

    def broken(host, spec, *args):
        made.extend([host.holder_pid, host.spawn(["sleep", "1000"])])
        raise RuntimeError(f"setup of {host.name} failed")

    monkeypatch.setattr(nodeos, "setup_node", broken)
    with pytest.raises(RuntimeError, match="setup of compute1 failed"):
        runtime.up(LabSpec(PREFIX_C, xenserver_pair(3, 1)))
    assert not runtime.is_up(PREFIX_C)
    assert leftovers(PREFIX_C, runtime.state_dir_for(PREFIX_C)) == []
    assert len(made) == 2 and not any(namespaces.alive(pid) for pid in made)


def test_a_dom0_service_that_dies_fails_up_at_once_with_its_log(monkeypatch):
    real = dom0.udhcpd_conf
    monkeypatch.setattr(dom0, "udhcpd_conf", lambda *a, **k: real(*a, **k).replace("interface xenapi",
                                                                                   "interface nosuchdev"))
    started = time.monotonic()
    with pytest.raises(LabError, match=r"(?s)xs1: udhcpd exited; log .*udhcpd.log.*nosuchdev"):
        runtime.up(LabSpec(PREFIX_H, xenserver_pair(3, 1)))
    assert time.monotonic() - started < dom0.SERVICE_TIMEOUT
    assert leftovers(PREFIX_H, runtime.state_dir_for(PREFIX_H)) == []


def test_an_invalid_spec_is_refused_before_anything_is_made():
    hosts = xenserver_pair(3, 1)
    hosts[1].nics[0] = type(hosts[1].nics[0])("eth0", hosts[0].nics[0].mac, "mgmt")
    with pytest.raises(LabError, match="used twice"):
        runtime.up(LabSpec(PREFIX_D, hosts))
    assert not runtime.is_up(PREFIX_D)


def test_not_root_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        runtime.up(LabSpec(PREFIX_E, xenserver_pair(3, 1)))
    with pytest.raises(LabError, match="needs root"):
        runtime.down(PREFIX_E)


def test_down_of_a_lab_that_is_not_up_does_nothing():
    runtime.down(PREFIX_F)
    assert leftovers(PREFIX_F, runtime.state_dir_for(PREFIX_F)) == []


def test_a_missing_system_tool_is_named_with_its_package(monkeypatch):
    monkeypatch.setitem(runtime.REQUIRED_PROGRAMS, "no-such-lab-tool", "lab-tool-package")
    with pytest.raises(LabError, match=r"not installed: lab-tool-package \(apt-get install lab-tool-package\)"):
        runtime.up(LabSpec(PREFIX_G, xenserver_pair(3, 1)))
    assert not runtime.is_up(PREFIX_G)


def test_the_repo_stays_reachable_and_read_only_when_a_host_mount_covers_it(tmp_path):
    """As in a CI clone under /tmp: the private /tmp would hide the repo and the overlays' layers in it."""
    repo = tmp_path / "repo"
    (repo / "site").mkdir(parents=True)
    (repo / "site" / "module.py").write_text("from the machine\n")
    state = repo / ".work" / "lab" / "x" / "hosts" / "h"
    key = str(repo / "site").replace("/", "_")
    for layer in ("upper", "work"):
        (state / layer / key).mkdir(parents=True)
    mounts = ["tmpfs:/run", "tmpfs:/tmp", f"bind:{repo}", f"overlay:{repo / 'site'}", f"readonly:{repo}"]
    holder = subprocess.Popen(["unshare", "--net", "--mount", "--uts", "--propagation", "private", "--", "/bin/sh",
                               str(FILES / "host-mounts.sh"), str(state), "mounts-test", *mounts],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert holder.stdout.readline() == b"ready\n", holder.stderr.read1()

        def inside(script):
            return subprocess.run(["nsenter", "-t", str(holder.pid), "--mount", "--uts", "--", "sh", "-c", script,
                                   "sh", str(repo)], capture_output=True, text=True)

        seen = inside('hostname; ls /tmp | wc -l; cat "$1/site/module.py"; echo new > "$1/site/new.py"; '
                      'touch "$1/elsewhere" 2>&1 || true')
        lines = seen.stdout.splitlines()
        assert lines[:3] == ["mounts-test", "1", "from the machine"], seen
        assert "Read-only file system" in lines[3]
        assert (state / "upper" / key / "new.py").read_text() == "new\n"  # the write went to the host's layer
        assert not (repo / "site" / "new.py").exists() and not (repo / "elsewhere").exists()
    finally:
        namespaces.kill_all([holder.pid])
    assert str(repo) not in open("/proc/mounts").read()
