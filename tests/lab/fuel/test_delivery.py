"""Finding and unpacking the plugin RPM as Fuel would (no lab needed)."""
import io
import os
import tarfile
import time

import pytest

from lab import delivery
from lab.errors import LabError
from tests.paths import OUTPUT


def test_missing_rpm_says_run_make(tmp_path):
    with pytest.raises(LabError, match="no plugin RPM.*run `make`"):
        delivery.find_rpm(tmp_path, (tmp_path,))


def test_stale_rpm_says_run_make(tmp_path):
    out, src = tmp_path / "output", tmp_path / "plugin"
    out.mkdir()
    src.mkdir()
    rpm = out / "fuel-plugin-xenserver-4.0-4.0.1-1.noarch.rpm"
    rpm.write_bytes(b"")
    old = time.time() - 60
    os.utime(rpm, (old, old))
    (src / "deployment_tasks.yaml").write_text("[]")
    with pytest.raises(LabError, match="older than .*deployment_tasks.yaml: run `make`"):
        delivery.find_rpm(out, (src,))
    os.utime(src / "deployment_tasks.yaml", (old - 10, old - 10))
    assert delivery.find_rpm(out, (src,)) == rpm


def test_unpack_the_built_rpm_like_a_fuel_master(tmp_path):
    try:
        rpm = delivery.newest_rpm(OUTPUT)
    except LabError:
        pytest.skip("no RPM built (run make)")
    plugin = delivery.unpack(rpm, tmp_path)
    assert plugin.root == tmp_path / "var/www/nailgun/plugins/fuel-plugin-xenserver-4.0"
    assert {t["id"] for t in plugin.deployment_tasks} >= {"xenserver-compute-pre-test"}
    assert plugin.metadata["name"] == "fuel-plugin-xenserver"
    names = tarfile.open(fileobj=io.BytesIO(plugin.scripts_tar())).getnames()
    assert "./compute_pre_test.py" in names and "./xenserver_plugin/astute.py" in names
    assert not any("__pycache__" in name for name in names)
    again = delivery.unpack(rpm, tmp_path)  # once per RPM: the second call reuses the payload
    assert again.root == plugin.root
