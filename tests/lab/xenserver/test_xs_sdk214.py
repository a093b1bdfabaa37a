"""The XenAPI SDK 2.14 the nodes use, under Python 2.7, against the lab server (subprocess)."""

import json
import subprocess

import pytest

from tests.paths import PY27

from .conftest import PASSWORD, make_config

SCRIPT = r'''
import json, sys
import XenAPI
url, password = sys.argv[1], sys.stdin.readline().strip()
out = {}
try:
    XenAPI.Session(url).login_with_password("root", "not-" + password, "2.1", "node")
except XenAPI.Failure as failure:
    out["wrong"] = failure.details
session = XenAPI.Session(url)
session.login_with_password("root", password, "2.1", "node")
api = session.xenapi
host = api.session.get_this_host(session.handle)
out["software_version"] = api.host.get_software_version(host)
sr = api.pool.get_default_SR(api.pool.get_all()[0])
record = api.SR.get_record(sr)
out["sr"] = [record["type"], record["physical_size"]]
vif = list(api.VIF.get_all_records_where('field "MAC"="52:54:00:aa:00:01"').values())[0]
out["bridge"] = api.network.get_bridge(vif["network"])
out["plugin"] = api.host.call_plugin(host, "lab_test.py", "echo", {"k": "v"})
session.xenapi.session.logout()
print(json.dumps(out))
'''


@pytest.mark.skipif(not PY27.exists(), reason="no .work/venv-node27 (run make)")
@pytest.mark.parametrize("version", ["6.5.0", "7.1.0"])
def test_sdk_214_under_python_27(start_xs, version):
    xs = start_xs(make_config(version))
    result = subprocess.run([str(PY27), "-c", SCRIPT, xs.url], input=PASSWORD + "\n", capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["wrong"] == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]
    assert out["software_version"]["product_version"] == version
    assert out["software_version"]["platform_version"] == make_config(version).platform_version
    assert out["sr"] == ["ext", str(500 * 1024**3)]
    assert out["bridge"] == "xenbr0"
    assert json.loads(out["plugin"]) == {"k": "v"}
