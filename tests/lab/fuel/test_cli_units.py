"""CLI option parsing and the verify extension point (no lab needed)."""
import sys

import pytest

import lab
from lab import cli, verify
from lab.errors import LabError


def test_xenserver_and_sr_choices_cycle_over_hosts():
    args = cli.parser().parse_args(["up", "--xenserver", "6.5,7.0,7.1", "--sr", "ext,nfs"])
    choices = cli.host_choices(args)
    assert [(c.version, c.sr_type, c.hotfixes) for c in choices] == [
        ("6.5.0", "ext", None), ("7.0.0", "nfs", None), ("7.1.0", "ext", None)]
    args = cli.parser().parse_args(["demo", "--xenserver", "6.5", "--no-hotfixes"])
    assert cli.host_choices(args)[0].hotfixes == ()


def test_bad_choices_are_lab_errors():
    with pytest.raises(LabError, match="8.0"):
        cli.host_choices(cli.parser().parse_args(["up", "--xenserver", "8.0"]))
    with pytest.raises(LabError, match="zfs"):
        cli.host_choices(cli.parser().parse_args(["up", "--sr", "zfs"]))


def test_process_names():
    assert cli._program(["/x/bin/python", "-m", "lab.xenserver.server", "--config", "c"]) == "lab.xenserver.server"
    assert cli._program(["/x/bin/python", "/repo/lab/probe_server.py", "1.2.3.4"]) == "probe_server.py"
    assert cli._program(["/usr/sbin/sshd", "-D"]) == "sshd"


def test_verify_modules_add_checks(tmp_path, monkeypatch):
    (tmp_path / "verify_zz_example.py").write_text(
        "from lab.verify import Check\n"
        "def checks(lab, fuel):\n    return [Check('example', 'node-1', True, 'measured 1')]\n")
    monkeypatch.setattr(lab, "__path__", [*lab.__path__, str(tmp_path)])
    try:
        extras = [extra for extra in verify.extra_checks() if extra.__module__ == "lab.verify_zz_example"]
        assert [c.name for extra in extras for c in extra(None, None)] == ["example"]
    finally:
        sys.modules.pop("lab.verify_zz_example", None)
