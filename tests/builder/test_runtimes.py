"""The node runtime the RPM ships runs on the nodes' Python 2.7 and on Python 3."""
import shutil
import subprocess

import pytest

from tests.paths import FIXTURES, PY3, PY27

INTERPRETERS = [pytest.param(PY27, id="python2.7"), pytest.param(PY3, id="python3")]
ENTRY_POINTS = ["compute_pre_test", "compute_post_deployment", "controller_post_deployment",
                "primary_controller_post_deployment"]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_vendored_xenapi_imports(python, stage):
    code = "import XenAPI; s = XenAPI.Session('http://169.254.0.1'); print(XenAPI.Failure.__name__)"
    result = subprocess.run([str(python), "-c", code], cwd=stage / "deployment_scripts",
                            capture_output=True, text=True, env={"PYTHONPATH": "", "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Failure"


@pytest.mark.parametrize("python", INTERPRETERS)
def test_node_code_compiles(python, stage, tmp_path):
    copy = tmp_path / "plugin"  # compileall writes bytecode: compile a copy, not the staged tree
    for part in ("deployment_scripts", "tools"):
        shutil.copytree(stage / part, copy / part)
    result = subprocess.run([str(python), "-m", "compileall", "-q", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("task", ENTRY_POINTS)
def test_entry_point_refuses_node_without_plugin_section(python, task, stage, tmp_path):
    """A node whose astute.yaml has no plugin section: one clear paragraph, exit 1, no traceback."""
    astute = FIXTURES / "noop" / "neut_vlan.ceph-compute.yaml"
    result = subprocess.run([str(python), f"{task}.py", "--astute", str(astute), "--log-dir", str(tmp_path)],
                            cwd=stage / "deployment_scripts", capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fuel-plugin-xenserver section is missing" in result.stdout
    assert "Settings tab" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert (tmp_path / f"{task}.log").is_file()
