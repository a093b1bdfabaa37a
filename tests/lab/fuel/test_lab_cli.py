"""The CLI's bad-input answers: one line on stderr, non-zero exit, nothing left half up."""
import os
import subprocess
import sys

import pytest
import yaml

from lab import delivery, runtime
from tests.lab.fuel.conftest import XS_HA, needs_root, unique_prefix, xs_ha_subset
from tests.paths import REPO

pytestmark = [pytest.mark.lab, needs_root]
BAD = unique_prefix("b")  # labs that must never come up


def rpm_args():
    """The newest built RPM even when node code changed since (the stale check has its own test)."""
    return ("--rpm", str(delivery.newest_rpm())) if list((REPO / "output").glob(delivery.RPM_GLOB)) else ()


def lab_cli(*args, user=None):
    argv = [sys.executable, "-m", "lab", *args]
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)


def one_line_error(done, *words):
    assert done.returncode != 0, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_up_when_that_prefix_is_up(small_lab):
    prefix = small_lab[0].prefix
    one_line_error(lab_cli("up", "--prefix", prefix), "already up")
    assert runtime.attach(prefix).host("node-12").run(["true"]).returncode == 0  # left alone


def test_unknown_host(small_lab):
    one_line_error(lab_cli("exec", "--prefix", small_lab[0].prefix, "node-99", "--", "true"), "node-99")


def test_exec_passes_the_exit_status_on(small_lab):
    done = lab_cli("exec", "--prefix", small_lab[0].prefix, "node-9", "--", "sh", "-c", "hostname; exit 4")
    assert (done.returncode, done.stdout.strip()) == (4, "node-9")


def test_no_compute_node_leaves_nothing_up(tmp_path):
    fixtures = xs_ha_subset(tmp_path, "cinder-node15.yaml", "primary-controller-node9.yaml")
    one_line_error(lab_cli("up", "--prefix", BAD, "--fixtures", str(fixtures), *rpm_args()), "no compute node")
    assert not runtime.is_up(BAD)


def test_unbuildable_network_scheme_leaves_nothing_up(tmp_path):
    data = yaml.safe_load((XS_HA / "compute-node12.yaml").read_text())
    data["network_scheme"]["transformations"].append({"action": "add-port", "bridge": "br-x", "name": "eth1"})
    (tmp_path / "compute-node12.yaml").write_text(yaml.safe_dump(data))
    one_line_error(lab_cli("up", "--prefix", BAD, "--fixtures", str(tmp_path), *rpm_args()), "compute-node12.yaml",
                   "br-x")
    assert not runtime.is_up(BAD)


def test_missing_rpm(tmp_path):
    one_line_error(lab_cli("up", "--prefix", BAD, "--rpm", str(tmp_path / "none.rpm")), "run `make`")
    assert not runtime.is_up(BAD)


def test_not_root():
    if not os.access(REPO, os.R_OK | os.X_OK) or REPO.stat().st_mode & 0o005 != 0o005:
        pytest.skip("the repo is not readable by an unprivileged user here")
    one_line_error(lab_cli("status", user="65534"), "root")
