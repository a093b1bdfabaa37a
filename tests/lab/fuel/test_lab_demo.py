"""`python -m lab demo` end to end on the default environment: table printed, lab always taken down."""
import subprocess
import sys

import pytest

from lab import delivery, runtime
from tests.lab.fuel.conftest import needs_root, unique_prefix
from tests.lab.runtime.conftest import leftovers
from tests.paths import REPO

pytestmark = [pytest.mark.lab, needs_root]
PREFIX = unique_prefix("d")


def test_demo_runs_end_to_end_and_leaves_nothing():
    argv = [sys.executable, "-m", "lab", "demo", "--prefix", PREFIX, "--rpm", str(delivery.newest_rpm())]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert f"== lab {PREFIX} up in" in out, done.stderr
    for host in ("node-1", "node-2", "node-3", "node-4", "xs-3", "xs-4"):
        assert host in out
    assert "XenServer 7.0.0" in out and "XenServer 7.1.0" in out
    assert "xenserver-compute-pre-test" in out and "deployment " in out
    assert "HIMN node-3->169.254.0.1" in out and "checks passed" in out
    assert f"== lab {PREFIX} down" in out
    assert not runtime.is_up(PREFIX)
    assert leftovers(PREFIX, runtime.state_dir_for(PREFIX) / "hosts") == []
    passed = "deployment succeeded" in out and "FAIL " not in out
    assert done.returncode == (0 if passed else 1), out[-3000:]
