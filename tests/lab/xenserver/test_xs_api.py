"""The real XenAPI SDK (26, in-process) against the lab server: sessions, records, generic calls, call log."""

import json
import subprocess
import sys

import pytest
import XenAPI

from lab.xenserver.config import GIB

from .conftest import PASSWORD, make_config, wait_for_file


def test_login_and_wrong_password_fail_like_xenserver(xs):
    with pytest.raises(XenAPI.Failure) as failure:
        xs.session("wrong")
    assert failure.value.details == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]
    session = XenAPI.Session(xs.url)
    with pytest.raises(XenAPI.Failure) as failure:
        session.login_with_password("admin", PASSWORD, "2.1", "t")
    assert failure.value.details == ["SESSION_AUTHENTICATION_FAILED", "admin", "Authentication failure"]
    session = xs.session()
    assert session.handle.startswith("OpaqueRef:")
    assert session.API_version == "2.5"  # pool.get_all, pool.get_master, host.get_API_version_major/minor


def test_logged_out_session_is_invalid(xs):
    session = xs.session()
    handle = session.handle
    session.xenapi.session.logout()
    raw = XenAPI.Session(xs.url)
    answer = getattr(raw, "host.get_all")(handle)
    assert answer == {"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", handle]}


@pytest.mark.parametrize(("version", "platform", "api_minor"),
                         [("6.5.0", "1.9.0", "4"), ("7.0.0", "2.1.0", "5"), ("7.1.0", "2.2.0", "6")])
def test_software_version(start_xs, version, platform, api_minor):
    api = start_xs(make_config(version)).session().xenapi
    pool = api.pool.get_all()[0]
    host = api.pool.get_master(pool)
    software = api.host.get_software_version(host)
    assert software["product_version"] == version
    assert software["platform_version"] == platform
    assert software["product_brand"] == "XenServer" and software["platform_name"] == "XCP"
    assert software["hostname"] == "xs-lab"
    assert api.host.get_API_version_major(host) == "2" and api.host.get_API_version_minor(host) == api_minor
    assert api.host.get_record(host)["software_version"] == software


def test_this_host_and_uuid(xs):
    session = xs.session()
    api = session.xenapi
    host = api.session.get_this_host(session.handle)
    assert api.host.get_uuid(host) == xs.config.uuid
    assert api.host.get_by_uuid(xs.config.uuid) == host
    with pytest.raises(XenAPI.Failure) as failure:
        api.host.get_by_uuid("nope")
    assert failure.value.details == ["UUID_INVALID", "host", "nope"]


@pytest.mark.parametrize("sr_type", ["ext", "nfs", "lvm"])
def test_default_sr_type_and_sizes_as_strings(start_xs, sr_type):
    api = start_xs(make_config(sr_type=sr_type)).session().xenapi
    sr = api.pool.get_default_SR(api.pool.get_all()[0])
    api.SR.scan(sr)
    record = api.SR.get_record(sr)
    assert record["type"] == sr_type
    assert record["physical_size"] == str(500 * GIB)
    assert record["physical_utilisation"] == str(80 * GIB)
    assert record["virtual_allocation"] == str(60 * GIB)
    vdis = api.SR.get_VDIs(sr)
    assert len(vdis) == 1
    assert api.VDI.get_virtual_size(vdis[0]) == str(60 * GIB)
    assert int(api.VDI.get_physical_utilisation(vdis[0])) > 0
    assert [api.VBD.get_currently_attached(vbd) for vbd in api.VDI.get_VBDs(vdis[0])] == [True]


def test_vif_by_mac_leads_to_the_network_bridge(xs):
    api = xs.session().xenapi
    vifs = api.VIF.get_all_records_where('field "MAC"="52:54:00:aa:00:02"')
    assert len(vifs) == 1
    vif = next(iter(vifs.values()))
    assert api.network.get_bridge(vif["network"]) == "xenbr1"
    assert api.VM.get_name_label(vif["VM"]) == "xs-lab-compute"


def test_himn_network_and_xenstore_mac(xs):
    api = xs.session().xenapi
    himn = [rec for rec in api.network.get_all_records().values()
            if rec["other_config"].get("is_host_internal_management_network") == "true"]
    assert [n["bridge"] for n in himn] == ["xenapi"]
    vm = api.VM.get_by_name_label("xs-lab-compute")[0]
    assert api.VM.get_xenstore_data(vm)["vm-data/himn_mac"] == "52:54:00:aa:00:03"


def test_guest_vms_by_filter_and_dom0(xs):
    api = xs.session().xenapi
    guests = api.VM.get_all_records_where('field "is_control_domain"="false" and field "is_a_template"="false"')
    assert [vm["name_label"] for vm in guests.values()] == ["xs-lab-compute"]
    host = api.pool.get_master(api.pool.get_all()[0])
    dom0 = api.VM.get_all_records_where(f'field "is_control_domain"="true" and field "resident_on"="{host}"')
    assert [vm["domid"] for vm in dom0.values()] == ["0"]
    with pytest.raises(XenAPI.Failure) as failure:
        api.VM.get_all_records_where('field "is_control_domain"=')
    assert failure.value.details[0] == "INTERNAL_ERROR"


def test_patches_and_updates_per_version(start_xs):
    api65 = start_xs(make_config("6.5.0"), "xs65").session().xenapi
    assert [p["name_label"] for p in api65.pool_patch.get_all_records().values()] == ["XS65ESP1013"]
    host = api65.pool.get_master(api65.pool.get_all()[0])
    assert [api65.host_patch.get_name_label(p) for p in api65.host.get_patches(host)] == ["XS65ESP1013"]
    with pytest.raises(XenAPI.Failure) as failure:
        api65.pool_update.get_all()
    assert failure.value.details == ["MESSAGE_METHOD_UNKNOWN", "pool_update.get_all"]
    api71 = start_xs(make_config("7.1.0", hotfixes=["XS71E001"]), "xs71").session().xenapi
    assert [u["name_label"] for u in api71.pool_update.get_all_records().values()] == ["XS71E001"]


def test_unknown_calls_and_wrong_arity(xs):
    api = xs.session().xenapi
    for method in ("VM.frobnicate", "nosuchclass.get_all", "VM.get_no_such_field"):
        with pytest.raises(XenAPI.Failure) as failure:
            getattr(getattr(api, method.split(".")[0]), method.split(".")[1])()
        assert failure.value.details == ["MESSAGE_METHOD_UNKNOWN", method]
    with pytest.raises(XenAPI.Failure) as failure:
        api.VM.get_record()
    assert failure.value.details == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "2", "1"]
    with pytest.raises(XenAPI.Failure) as failure:
        api.VM.get_record("OpaqueRef:nope")
    assert failure.value.details == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]


def test_set_and_map_calls(xs):
    api = xs.session().xenapi
    network = api.network.get_by_name_label("Host internal management network")[0]
    api.network.add_to_other_config(network, "lab", "1")
    with pytest.raises(XenAPI.Failure) as failure:
        api.network.add_to_other_config(network, "lab", "2")
    assert failure.value.details[0] == "MAP_DUPLICATE_KEY"
    api.network.remove_from_other_config(network, "lab")
    assert "lab" not in api.network.get_other_config(network)
    api.network.set_name_description(network, "HIMN")
    assert api.network.get_record(network)["name_description"] == "HIMN"


def test_vbd_create_plug_destroy_keeps_both_ends(xs):
    api = xs.session().xenapi
    dom0 = next(iter(api.VM.get_all_records_where('field "is_control_domain"="true"')))
    vdi = api.SR.get_VDIs(api.pool.get_default_SR(api.pool.get_all()[0]))[0]
    vbd = api.VBD.create({"VM": dom0, "VDI": vdi, "userdevice": "autodetect", "bootable": False, "mode": "RO",
                          "type": "Disk", "unpluggable": True, "empty": False, "other_config": {},
                          "qos_algorithm_type": "", "qos_algorithm_params": {}})
    assert vbd in api.VM.get_VBDs(dom0) and vbd in api.VDI.get_VBDs(vdi)
    api.VBD.plug(vbd)
    assert api.VBD.get_currently_attached(vbd) is True and api.VBD.get_device(vbd).startswith("xvd")
    api.VBD.unplug(vbd)
    with pytest.raises(XenAPI.Failure) as failure:
        api.VBD.unplug(vbd)
    assert failure.value.details[0] == "DEVICE_ALREADY_DETACHED"
    api.VBD.destroy(vbd)
    assert vbd not in api.VM.get_VBDs(dom0) and vbd not in api.VDI.get_VBDs(vdi)


def test_call_log_records_every_call_without_arguments(xs):
    session = xs.session()
    session.xenapi.VM.get_all_records_where('field "is_control_domain"="false"')
    with pytest.raises(XenAPI.Failure):
        session.xenapi.VM.frobnicate()
    with pytest.raises(XenAPI.Failure):
        xs.session("wrong-password-123")
    text = xs.call_log.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert ("VM.get_all_records_where", "Success") in [(e["method"], e["status"]) for e in entries]
    assert {"method": "VM.frobnicate", "status": "Failure", "error": "MESSAGE_METHOD_UNKNOWN"} in [
        {k: e[k] for k in ("method", "status", "error")} for e in entries]
    assert PASSWORD not in text and "wrong-password-123" not in text and "is_control_domain" not in text


def test_server_process_keeps_state_and_sessions_across_restart(tmp_path):
    config_path = tmp_path / "host.json"
    config_path.write_text(make_config("7.1.0").to_json())
    state = tmp_path / "state" / "state.json"

    def start():
        ready = tmp_path / "port"
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab.xenserver.server", "--config", str(config_path), "--state", str(state),
             "--listen", "127.0.0.1:0", "--dom0-python", sys.executable, "--plugins-dir", str(tmp_path),
             "--ready-file", str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc, f"http://127.0.0.1:{wait_for_file(ready)}/"

    proc, url = start()
    try:
        session = XenAPI.Session(url)
        session.login_with_password("root", PASSWORD, "2.1", "t")
        vm = session.xenapi.VM.get_by_name_label("xs-lab-compute")[0]
        session.xenapi.VM.add_to_other_config(vm, "kept", "yes")
        handle = session.handle
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert PASSWORD not in state.read_text()
    proc, url = start()
    try:
        again = XenAPI.Session(url)
        again._session = handle  # the session survives the restart, as xapi's database keeps it
        assert again.xenapi.VM.get_other_config(vm)["kept"] == "yes"
    finally:
        proc.terminate()
        proc.wait(10)


def test_dom0_uuid_matches_the_config_and_tasks_come_and_go(xs):
    api = xs.session().xenapi
    dom0 = api.VM.get_by_uuid(xs.config.control_domain_uuid)
    assert api.VM.get_is_control_domain(dom0) is True
    task = api.task.create("lab", "a task")
    assert api.task.get_status(task) == "pending"
    api.task.destroy(task)
    assert task not in api.task.get_all()


def test_unanswered_calls_are_listed(xs):
    import time

    from lab.xenserver.calllog import read_calls, unanswered

    start = time.time()
    api = xs.session().xenapi
    api.host.get_all()
    assert unanswered(xs.call_log, start) == []
    with pytest.raises(XenAPI.Failure):
        api.VM.frobnicate()
    with pytest.raises(XenAPI.Failure):
        api.VM.get_by_uuid("no-such-vm")  # XenServer's own answer, not a gap in the lab
    assert [c.method for c in unanswered(xs.call_log, start)] == ["VM.frobnicate"]
    assert [c.method for c in read_calls(xs.call_log, start)][-3:] == ["host.get_all", "VM.frobnicate",
                                                                        "VM.get_by_uuid"]


def test_state_from_another_config_is_not_reused(tmp_path):
    from lab.xenserver.state import State

    path = tmp_path / "state.json"
    first = make_config("7.0.0")
    State.load_or_build(path, first).save(path)
    assert State.load_or_build(path, first).to_json() == path.read_text()
    other = make_config("7.1.0")
    rebuilt = State.load_or_build(path, other)
    assert rebuilt.host["software_version"]["product_version"] == "7.1.0"


def test_oldest_sessions_of_an_originator_expire(xs, monkeypatch):
    from lab.xenserver import api as api_module

    monkeypatch.setattr(api_module, "MAX_SESSIONS_PER_ORIGINATOR", 3)
    sessions = [xs.session() for _ in range(4)]
    raw = XenAPI.Session(xs.url)
    assert getattr(raw, "host.get_all")(sessions[0].handle)["ErrorDescription"][0] == "SESSION_INVALID"
    for session in sessions[1:]:
        assert session.xenapi.host.get_all()
    other = XenAPI.Session(xs.url)
    other.login_with_password("root", PASSWORD, "2.1", "another-originator")
    assert sessions[1].xenapi.host.get_all()


def test_vdi_destroy_refuses_an_attached_disk_and_drops_a_cached_image(xs):
    api = xs.session().xenapi
    sr = api.pool.get_default_SR(api.pool.get_all()[0])
    (disk,) = api.SR.get_VDIs(sr)
    with pytest.raises(XenAPI.Failure) as failure:
        api.VDI.destroy(disk)
    assert failure.value.details == ["VDI_IN_USE", disk, "destroy"]
    image = api.VDI.create({"name_label": "Glance Image 1", "SR": sr, "virtual_size": str(GIB), "type": "user",
                            "sharable": False, "read_only": False, "other_config": {"image-id": "1"}})
    assert image in api.SR.get_VDIs(sr)
    api.VDI.destroy(image)
    assert api.SR.get_VDIs(sr) == [disk]


def test_http_get_shows_the_welcome_page(xs):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(xs.url, timeout=5) as response:
        assert response.status == 200
        assert "<title>XenServer 7.0</title>" in response.read().decode()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(xs.url + "nope", timeout=5)


def test_this_host_of_an_unknown_session_is_handle_invalid(xs):
    session = xs.session()
    with pytest.raises(XenAPI.Failure) as failure:
        session.xenapi.session.get_this_host("OpaqueRef:nope")
    assert failure.value.details == ["HANDLE_INVALID", "session", "OpaqueRef:nope"]


def test_hosts_and_pools_cannot_be_created_or_destroyed(xs):
    api = xs.session().xenapi
    for call in (lambda: api.host.create({}), lambda: api.pool.destroy(api.pool.get_all()[0])):
        with pytest.raises(XenAPI.Failure) as failure:
            call()
        assert failure.value.details[0] == "MESSAGE_METHOD_UNKNOWN"


def test_async_calls_return_a_finished_task(xs):
    session = xs.session()
    api = session.xenapi
    sr = api.pool.get_default_SR(api.pool.get_all()[0])
    task = getattr(session, "Async.SR.scan")(session.handle, sr)["Value"]
    assert (api.task.get_status(task), api.task.get_progress(task)) == ("success", 1.0)
    failed = getattr(session, "Async.VM.get_record")(session.handle, "OpaqueRef:nope")["Value"]
    assert api.task.get_status(failed) == "failure"
    assert api.task.get_error_info(failed) == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
