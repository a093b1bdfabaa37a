"""The XenAPI calls Nova Train's XenAPI driver makes for init_host / get_available_resource / list_instances
(recorded from nova 20.6.1 + os-xenapi against this server), replayed with the SDK: each must be answered."""

import json
import pickle
import shutil
import time

import pytest
import XenAPI

from lab.xenserver.calllog import unanswered

from .conftest import OS_XENAPI_WHEELS, PASSWORD

pytestmark = pytest.mark.skipif(not OS_XENAPI_WHEELS, reason="no os-xenapi wheel in .work/downloads")


def serialized(api, host, plugin, fn, *args):
    params = {"params": pickle.dumps({"args": args, "kwargs": {}}, 0).decode()}
    return pickle.loads(api.host.call_plugin(host, plugin, fn, params).encode())


def test_nova_driver_call_sequence(nova_plugins):
    xs = nova_plugins
    start = time.time()
    sessions = []
    for _ in range(5):  # os-xenapi's session pool
        session = XenAPI.Session(xs.url)
        session.login_with_password("root", PASSWORD, "2.1", "nova")
        assert session.API_version == "2.5"
        sessions.append(session)
    api = sessions[0].xenapi
    host = api.session.get_this_host(sessions[0].handle)
    assert api.host.get_uuid(host) == xs.config.uuid
    software = api.host.get_software_version(host)
    assert (software["product_brand"], software["product_version"]) == ("XenServer", "7.0.0")
    assert serialized(api, host, "dom0_plugin_version.py", "get_version") == "2.1"
    assert api.host.get_record(host)["hostname"] == "xs-lab"
    # HostState.update_status
    data = json.loads(api.host.call_plugin(host, "xenhost.py", "host_data", {"host_uuid": xs.config.uuid}))
    assert data["host_cpu_info"]["cpu_count"] == xs.config.cpu_count
    assert data["host_memory"]["total"] == xs.config.memory
    sr = api.pool.get_default_SR(api.pool.get_all()[0])
    api.SR.scan(sr)
    record = api.SR.get_record(sr)
    assert int(record["physical_size"]) == xs.config.default_sr.physical_size
    for vdi in api.SR.get_VDIs(sr):
        int(api.VDI.get_physical_utilisation(vdi))
        [api.VBD.get_currently_attached(vbd) for vbd in api.VDI.get_VBDs(vdi)]
        int(api.VDI.get_virtual_size(vdi))
    if shutil.which("lspci"):
        assert "Slot:" in serialized(api, host, "xenhost.py", "get_pci_device_details")
    guests = api.VM.get_all_records_where(
        f'field "is_control_domain"="false" and field "is_a_template"="false" and field "resident_on"="{host}"')
    assert [vm["name_label"] for vm in guests.values()] == ["xs-lab-compute"]
    for session in sessions:
        session.xenapi.session.logout()
    assert unanswered(xs.call_log, start) == []
