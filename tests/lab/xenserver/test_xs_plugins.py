"""host.call_plugin runs Dom0 plugins with Dom0's Python 2.7, as xapi does (argv XML-RPC call, stdout reply)."""

import json
import pickle

import pytest
import XenAPI


def call(xs, plugin, fn, args):
    session = xs.session()
    host = session.xenapi.session.get_this_host(session.handle)
    return session.xenapi.host.call_plugin(host, plugin, fn, args)


def failure(xs, plugin, fn, args):
    with pytest.raises(XenAPI.Failure) as raised:
        call(xs, plugin, fn, args)
    return raised.value.details


def test_plugin_gets_the_args_map(xs):
    assert json.loads(call(xs, "lab_test.py", "echo", {"a": "1", "b": "two words"})) == {"a": "1", "b": "two words"}


def test_plugin_calls_back_into_xenapi_with_the_callers_session(xs):
    assert call(xs, "lab_test.py", "dom0", {}) == "Control domain on host: xs-lab"


def test_plugin_failures(xs):
    assert failure(xs, "lab_test.py", "fail", {}) == ["LAB_TEST_FAILURE", "one", "two"]
    assert failure(xs, "lab_test.py", "crash", {}) == ["XENAPI_PLUGIN_FAILURE", "crash", "ValueError", "plugin bug"]
    assert failure(xs, "lab_test.py", "nope", {}) == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "nope"]
    assert failure(xs, "missing.py", "echo", {}) == ["XENAPI_MISSING_PLUGIN", "missing.py"]
    (xs.plugins_dir / "lab_test.py").chmod(0o644)
    assert failure(xs, "lab_test.py", "echo", {}) == ["XENAPI_MISSING_PLUGIN", "lab_test.py"]


def test_plugin_runs_under_python_27(xs):
    plugin = xs.plugins_dir / "version.py"
    plugin.write_text("import sys, XenAPIPlugin\n"
                      "XenAPIPlugin.dispatch({'v': lambda s, a: '%d.%d' % sys.version_info[:2]})\n")
    plugin.chmod(0o755)
    assert call(xs, "version.py", "v", {}) == "2.7"


def test_crashing_plugin_process_is_a_plugin_failure(xs):
    plugin = xs.plugins_dir / "broken.py"
    plugin.write_text("import sys\nsys.stderr.write('boom')\nsys.exit(3)\n")
    plugin.chmod(0o755)
    details = failure(xs, "broken.py", "x", {})
    assert details[:2] == ["XENAPI_PLUGIN_FAILURE", "non-zero exit"] and details[3] == "boom"


def serialized(xs, plugin, fn, *args):
    """Nova's call_plugin_serialized: args and result pickled with protocol 0."""
    params = {"params": pickle.dumps({"args": args, "kwargs": {}}, 0).decode()}
    return pickle.loads(call(xs, plugin, fn, params).encode())


def test_os_xenapi_version_plugin(nova_plugins):
    assert serialized(nova_plugins, "dom0_plugin_version.py", "get_version") == "2.1"


def test_os_xenapi_host_data_reads_xe(nova_plugins):
    data = json.loads(call(nova_plugins, "xenhost.py", "host_data", {"host_uuid": nova_plugins.config.uuid}))
    assert data["host_uuid"] == nova_plugins.config.uuid
    assert data["host_hostname"] == "xs-lab"
    assert data["host_memory"]["total"] == nova_plugins.config.memory
    assert 0 < data["host_memory"]["free-computed"] < nova_plugins.config.memory
    assert data["host_cpu_info"]["cpu_count"] == nova_plugins.config.cpu_count
    assert "hvm-3.0-x86_64" in data["host_capabilities"]


def test_os_xenapi_pci_type(nova_plugins):
    assert serialized(nova_plugins, "xenhost.py", "get_pci_type", "00:00.0") in ("type-PCI", "type-PF", "type-VF")


def test_netwrap_runs_allowed_commands_only(nova_plugins):
    result = json.loads(call(nova_plugins, "netwrap.py", "run_command", {"cmd": json.dumps(["ip", "link", "show"])}))
    assert result["returncode"] == 0 and "lo:" in result["out"]
    details = failure(nova_plugins, "netwrap.py", "run_command", {"cmd": json.dumps(["cat", "/etc/shadow"])})
    assert details == ["XENAPI_PLUGIN_FAILURE", "run_command", "PluginError",
                       "Dom0 execution of 'cat' is not permitted"]
