"""`xe` with XenServer's conventions, talking XenAPI to the lab server (one state)."""

import pytest

from lab.xenserver.xe import parse_args

from .conftest import make_config
from .fake_packs import write_fake_iso

GUEST = "xs-lab-compute"


def test_vm_list_format_and_filters(xs):
    out = xs.xe("vm-list", "is-control-domain=false", process=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("uuid ( RO)") and lines[0].endswith(xs.config.vms[0].uuid)
    assert lines[1].endswith(f"name-label ( RW): {GUEST}")
    assert lines[2].endswith("power-state ( RO): running")
    assert len({line.index(":") for line in lines if line}) == 1  # the colons line up
    assert xs.xe("vm-list", "is-control-domain=false", "--minimal").stdout == xs.config.vms[0].uuid + "\n"
    assert xs.xe("vm-list", "name-label=nope", "--minimal").stdout == "\n"
    both = xs.xe("vm-list", "params=name-label", "--minimal").stdout.strip().split(",")
    assert sorted(both) == sorted([GUEST, "Control domain on host: xs-lab"])


def test_vif_by_mac_then_network_bridge(xs):
    network = xs.xe("vif-list", "MAC=52:54:00:aa:00:02", "params=network-uuid", "--minimal").stdout.strip()
    assert xs.xe("network-param-get", f"uuid={network}", "param-name=bridge").stdout == "xenbr1\n"
    himn = xs.xe("network-list", "bridge=xenapi", "--minimal").stdout.strip()
    assert xs.xe("network-param-get", f"uuid={himn}", "param-name=other-config",
                 "param-key=is_host_internal_management_network").stdout == "true\n"
    listing = xs.xe("network-list", "bridge=xenapi", "params=all").stdout
    assert "other-config (MRW): is_guest_installer_network: true; is_host_internal_management_network: true" in listing


def test_host_and_sr_and_pool(xs):
    host = xs.xe("host-list", "--minimal").stdout.strip()
    assert host == xs.config.uuid
    assert xs.xe("host-param-get", f"uuid={host}", "param-name=software-version",
                 "param-key=product_version").stdout == "7.0.0\n"
    params = xs.xe("host-param-list", f"uuid={host}").stdout
    fields = {line.split(":", 1)[0].split(" (")[0].strip(): line.split(": ", 1)[1]
              for line in params.splitlines() if line}
    assert fields["memory-total"] == str(xs.config.memory)
    assert fields["cpu_info"].startswith(f"cpu_count: {xs.config.cpu_count}; ")
    assert fields["name-label"] == "xs-lab" and fields["hostname"] == "xs-lab"
    sr = xs.xe("pool-list", "params=default-SR", "--minimal").stdout.strip()
    assert xs.xe("sr-param-get", f"uuid={sr}", "param-name=type").stdout == "ext\n"
    assert xs.xe("sr-list", "type=ext", "--minimal").stdout.strip() == sr


def test_param_set_and_remove(xs):
    vm = xs.config.vms[0].uuid
    xs.xe("vm-param-set", f"uuid={vm}", "other-config:lab=1", "name-description=compute node")
    assert xs.xe("vm-param-get", f"uuid={vm}", "param-name=other-config", "param-key=lab").stdout == "1\n"
    assert xs.xe("vm-param-get", f"uuid={vm}", "param-name=name-description").stdout == "compute node\n"
    xs.xe("vm-param-remove", f"uuid={vm}", "param-name=other-config", "param-key=lab")
    missing = xs.xe("vm-param-get", f"uuid={vm}", "param-name=other-config", "param-key=lab", check=False)
    assert missing.returncode == 1 and "Key lab not found in map" in missing.stderr
    readonly = xs.xe("vm-param-set", f"uuid={vm}", "power-state=halted", check=False)
    assert readonly.returncode == 1


def test_errors_like_xe(xs):
    bad = xs.xe("vm-param-get", "uuid=nope", "param-name=name-label", check=False)
    assert (bad.returncode, bad.stderr) == (1, "The uuid you supplied was invalid.\ntype: VM\nuuid: nope\n")
    unknown = xs.xe("frobnicate-list", check=False)
    assert (unknown.returncode, unknown.stderr) == (1, "Unknown command: frobnicate-list\n")


def test_patch_list_on_65(start_xs):
    xs = start_xs(make_config("6.5.0"))
    assert xs.xe("patch-list", "params=name-label", "--minimal").stdout == "XS65ESP1013\n"
    assert xs.xe("patch-list", "params=hosts", "--minimal").stdout.strip() == xs.config.uuid


def test_host_call_plugin(xs):
    out = xs.xe("host-call-plugin", f"host-uuid={xs.config.uuid}", "plugin=lab_test.py", "fn=echo", "args:x=1")
    assert out.stdout == '{"x": "1"}\n'
    missing = xs.xe("host-call-plugin", f"host-uuid={xs.config.uuid}", "plugin=nope", "fn=x", check=False)
    assert missing.returncode == 1 and "plugin: nope" in missing.stderr


def test_args_parsing():
    args, connection = parse_args(["-s", "h", "vm-list", "params=a,b", "--minimal", "other-config:k=v=w", "x"])
    assert connection == {"s": "h"}
    assert (args.command, args.params, args.maps, args.flags, args.positional) == (
        "vm-list", {"params": "a,b"}, {"other-config": {"k": "v=w"}}, {"minimal"}, ["x"])


@pytest.fixture
def fake_packs(monkeypatch):
    monkeypatch.setenv("LAB_XENSERVER_PACKS", "tests.lab.xenserver.fake_packs")


def test_update_upload_apply_list_on_71(start_xs, fake_packs, tmp_path):
    xs = start_xs(make_config("7.1.0"))
    iso = write_fake_iso(tmp_path / "pack.iso")
    uuid = xs.xe("update-upload", f"file-name={iso}").stdout.strip()
    assert uuid == "0f7bd1c4-3e4a-4a63-9d0e-2bd8c2c7b001"
    again = xs.xe("update-upload", f"file-name={iso}", check=False)
    assert (again.returncode, again.stderr) == (1, f"The uploaded update already exists\nuuid: {uuid}\n")
    assert xs.xe("update-list", "params=hosts", "--minimal").stdout == "\n"
    xs.xe("update-apply", f"uuid={uuid}", f"host-uuid={xs.config.uuid}")
    assert xs.xe("update-list", f"uuid={uuid}", "params=hosts", "--minimal").stdout.strip() == xs.config.uuid
    applied = xs.xe("update-apply", f"uuid={uuid}", check=False)
    assert applied.returncode == 1 and applied.stderr.startswith("This update has already been applied.")
    # the payload is installed in Dom0 and host.call_plugin runs it
    assert (xs.plugins_dir / "dom0_plugin_version.py").exists()
    out = xs.xe("host-call-plugin", f"host-uuid={xs.config.uuid}", "plugin=dom0_plugin_version.py", "fn=get_version")
    assert out.stdout == "1.3\n"
    software = xs.session().xenapi.host.get_software_version(xs.session().xenapi.host.get_all()[0])
    assert software["openstack:xenapi-plugins-mitaka"] == "OpenStack XenAPI Dom0 plugins, version 1.3"


def test_update_for_another_version_is_refused(start_xs, fake_packs, tmp_path):
    xs = start_xs(make_config("7.1.0"))
    refused = xs.xe("update-upload", f"file-name={write_fake_iso(tmp_path / 'p.iso', '7.0.0')}", check=False)
    assert refused.returncode == 1 and "UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION" in refused.stderr
    assert xs.xe("update-list", "--minimal").stdout == "\n"
    assert xs.xe("vdi-list", "name-label=p.iso", "--minimal").stdout == "\n"  # the upload's VDI is gone


def test_update_commands_do_not_exist_before_71(start_xs, fake_packs, tmp_path):
    xs = start_xs(make_config("7.0.0"))
    result = xs.xe("update-upload", f"file-name={write_fake_iso(tmp_path / 'p.iso', '7.0.0')}", check=False)
    assert (result.returncode, result.stderr) == (1, "Unknown command: update-upload\n")


def test_install_supplemental_pack_on_70(start_xs, fake_packs, tmp_path):
    xs = start_xs(make_config("7.0.0"))
    iso = write_fake_iso(tmp_path / "pack.iso", "7.0.0")
    out = xs.xe("install-supplemental-pack", str(iso), process=True).stdout
    assert out.endswith("Pack installation successful.\n")
    assert (xs.root / "dom0/etc/xensource/installed-repos/openstack:xenapi-plugins-mitaka/XS-REPOSITORY").exists()
    answer = xs.xe("host-call-plugin", f"host-uuid={xs.config.uuid}", "plugin=dom0_plugin_version.py",
                   "fn=get_version").stdout
    assert answer == "1.3\n"
    host = xs.config.uuid
    assert xs.xe("host-param-get", f"uuid={host}", "param-name=software-version",
                 "param-key=openstack:xenapi-plugins-mitaka").stdout.startswith("OpenStack XenAPI Dom0 plugins")
    wrong = xs.xe("install-supplemental-pack", str(write_fake_iso(tmp_path / "p65.iso", "6.5.0")), check=False)
    assert wrong.returncode == 1 and "WRONG_SERVER_VERSION" in wrong.stderr


def test_xe_without_server_or_with_a_stale_session(xs):
    xs.root.joinpath("state", "local-session").write_text("OpaqueRef:stale\n")
    result = xs.xe("vm-list", check=False)
    assert result.returncode == 1 and "refused xe's session" in result.stderr
    xs.url = "http://127.0.0.1:1/"
    result = xs.xe("vm-list", check=False)
    assert result.returncode == 1 and result.stderr.startswith("Error: Connection refused")


def test_vm_list_hides_templates_template_list_shows_them(xs):
    vms = xs.xe("vm-list", "params=name-label", "--minimal").stdout.strip().split(",")
    assert sorted(vms) == sorted([GUEST, "Control domain on host: xs-lab"])
    templates = xs.xe("template-list", "params=name-label", "--minimal").stdout.strip().split(",")
    assert "Other install media" in templates and GUEST not in templates
    assert xs.xe("vm-list", "is-a-template=true", "--minimal").stdout == xs.xe("template-list", "--minimal").stdout


def test_remote_xe_with_a_password_file(xs, tmp_path):
    from .conftest import PASSWORD

    port = xs.url.rstrip("/").rsplit(":", 1)[1]
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    xs.root.joinpath("state", "local-session").unlink()  # not needed when logging in
    out = xs.xe("-s", "127.0.0.1", "-p", port, "-u", "root", "-pwf", str(password_file), "host-list", "--minimal")
    assert out.stdout.strip() == xs.config.uuid
    password_file.write_text("wrong\n")
    wrong = xs.xe("-s", "127.0.0.1", "-p", port, "-u", "root", "-pwf", str(password_file), "host-list", check=False)
    assert wrong.returncode == 1 and wrong.stderr.startswith("The credentials given by the user are incorrect")
