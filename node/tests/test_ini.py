import grp
import os
import stat

import pytest
from runs import make_run

from xenserver_plugin import ini
from xenserver_plugin.errors import OperatorError

NOVA_COMPUTE = """[DEFAULT]
# compute driver chosen by Fuel
compute_driver=libvirt.LibvirtDriver
force_config_drive=False

[libvirt]
virt_type=qemu
; a comment in libvirt
"""

MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def test_set_replaces_value_and_keeps_comments():
    text, changed = ini.apply_options(NOVA_COMPUTE, [("DEFAULT", "compute_driver", "xenapi.XenAPIDriver")])
    assert changed == [("DEFAULT", "compute_driver")]
    assert "compute_driver = xenapi.XenAPIDriver\n" in text
    assert "libvirt.LibvirtDriver" not in text
    assert "# compute driver chosen by Fuel\n" in text and "; a comment in libvirt\n" in text
    assert text.count("\n") == NOVA_COMPUTE.count("\n")


def test_new_key_goes_after_the_last_key_of_its_section():
    text, _ = ini.apply_options(NOVA_COMPUTE, [("libvirt", "cpu_mode", "none")])
    lines = text.splitlines()
    assert lines.index("cpu_mode = none") == lines.index("virt_type=qemu") + 1


def test_new_section_is_appended():
    text, _ = ini.apply_options(NOVA_COMPUTE, [("xenserver", "connection_url", "http://169.254.0.1")])
    assert text.endswith("\n[xenserver]\nconnection_url = http://169.254.0.1\n")
    assert ini.IniText(text).get("xenserver", "connection_url") == "http://169.254.0.1"


def test_duplicates_collapse_to_one_and_same_value_is_no_change():
    text = "[agent]\nroot_helper = a\nroot_helper = b\n"
    new, changed = ini.apply_options(text, [("agent", "root_helper", "b")])
    assert changed == [("agent", "root_helper")] and new == "[agent]\nroot_helper = b\n"
    again, changed = ini.apply_options(new, [("agent", "root_helper", "b")])
    assert changed == [] and again == new


def test_empty_value_and_repeated_sections():
    text = "[agent]\nx = 1\n[ovs]\ny = 2\n[agent]\nz = 3\n"
    new, changed = ini.apply_options(text, [("agent", "root_helper_daemon", "")])
    assert "z = 3\nroot_helper_daemon =\n" in new
    assert ini.IniText(new).get("agent", "root_helper_daemon") == ""
    assert ini.apply_options(new, [("agent", "root_helper_daemon", "")])[1] == []


def test_commented_out_key_is_not_taken_for_the_key():
    text = "[ovs]\n#bridge_mappings = physnet1:br-ex\n"
    new, changed = ini.apply_options(text, [("ovs", "bridge_mappings", "physnet2:xenbr2")])
    assert "#bridge_mappings = physnet1:br-ex\nbridge_mappings = physnet2:xenbr2\n" in new


def test_ensure_options_writes_mode_and_group_then_is_idempotent(tmp_path):
    path = str(tmp_path / "nova-compute.conf")
    with open(path, "w") as stream:
        stream.write(NOVA_COMPUTE)
    os.chmod(path, 0o644)
    options = [("xenserver", "connection_password", "s3cret"), ("DEFAULT", "compute_driver", "xenapi.XenAPIDriver")]
    run = make_run()
    assert ini.ensure_options(run, path, options, mode=0o640, group=MY_GROUP,
                              secrets=[("xenserver", "connection_password")])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert "s3cret" not in "".join(run.changes)
    assert "(secret)" in run.changes[0]
    assert "# compute driver chosen by Fuel" in open(path).read()
    second = make_run()
    assert not ini.ensure_options(second, path, options, mode=0o640, group=MY_GROUP)
    assert second.changes == []


def test_ensure_options_fixes_mode_only(tmp_path):
    path = str(tmp_path / "rootwrap.conf")
    with open(path, "w") as stream:
        stream.write("[xenapi]\nxenapi_connection_password = pw\n")
    os.chmod(path, 0o644)
    run = make_run()
    ini.ensure_options(run, path, [("xenapi", "xenapi_connection_password", "pw")], mode=0o640)
    assert run.changes == ["%s: mode 0640" % path]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_dry_run_changes_nothing(tmp_path):
    path = str(tmp_path / "absent.conf")
    run = make_run(dry_run=True)
    assert ini.ensure_options(run, path, [("a", "b", "c")], mode=0o640)
    assert not os.path.exists(path)
    assert len(run.changes) == 1


def test_missing_group_is_an_operator_error(tmp_path):
    with pytest.raises(OperatorError) as error:
        ini.ensure_options(make_run(), str(tmp_path / "x.conf"), [("a", "b", "c")], group="no-such-group-xs",
                           service="nova-compute")
    assert "no-such-group-xs" in error.value.cause
    assert not os.path.exists(str(tmp_path / "x.conf"))
