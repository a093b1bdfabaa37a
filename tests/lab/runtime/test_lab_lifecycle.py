"""Bad input and failures of up/down: clear errors, nothing left behind."""
import time

import pytest

from lab import dom0, namespaces, nodeos, runtime
from lab.errors import LabError
from lab.spec import LabSpec

from .conftest import leftovers
from .specs import xenserver_pair

pytestmark = pytest.mark.lab


def test_a_failed_up_removes_everything_it_made(monkeypatch):
    made = []

    def broken(host, spec, *args):
        made.extend([host.holder_pid, host.spawn(["sleep", "1000"])])
        raise RuntimeError(f"setup of {host.name} failed")

    monkeypatch.setattr(nodeos, "setup_node", broken)
    with pytest.raises(RuntimeError, match="setup of compute1 failed"):
        runtime.up(LabSpec("rtc", xenserver_pair(3, 1)))
    assert not runtime.is_up("rtc")
    assert leftovers("rtc", runtime.state_dir_for("rtc")) == []
    assert len(made) == 2 and not any(namespaces.alive(pid) for pid in made)


def test_a_dom0_service_that_dies_fails_up_at_once_with_its_log(monkeypatch):
    real = dom0.udhcpd_conf
    monkeypatch.setattr(dom0, "udhcpd_conf", lambda *a, **k: real(*a, **k).replace("interface xenapi",
                                                                                   "interface nosuchdev"))
    started = time.monotonic()
    with pytest.raises(LabError, match=r"(?s)xs1: udhcpd exited; log .*udhcpd.log.*nosuchdev"):
        runtime.up(LabSpec("rth", xenserver_pair(3, 1)))
    assert time.monotonic() - started < dom0.SERVICE_TIMEOUT
    assert leftovers("rth", runtime.state_dir_for("rth")) == []


def test_an_invalid_spec_is_refused_before_anything_is_made():
    hosts = xenserver_pair(3, 1)
    hosts[1].nics[0] = type(hosts[1].nics[0])("eth0", hosts[0].nics[0].mac, "mgmt")
    with pytest.raises(LabError, match="used twice"):
        runtime.up(LabSpec("rtd", hosts))
    assert not runtime.is_up("rtd")


def test_not_root_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        runtime.up(LabSpec("rte", xenserver_pair(3, 1)))
    with pytest.raises(LabError, match="needs root"):
        runtime.down("rte")


def test_down_of_a_lab_that_is_not_up_does_nothing():
    runtime.down("rtf")
    assert leftovers("rtf", runtime.state_dir_for("rtf")) == []


def test_a_missing_system_tool_is_named_with_its_package(monkeypatch):
    monkeypatch.setitem(runtime.REQUIRED_PROGRAMS, "no-such-lab-tool", "lab-tool-package")
    with pytest.raises(LabError, match=r"not installed: lab-tool-package \(apt-get install lab-tool-package\)"):
        runtime.up(LabSpec("rtg", xenserver_pair(3, 1)))
    assert not runtime.is_up("rtg")
