"""The upgrade check shipped in the plugin, run the way an operator runs it on a Fuel master."""
import subprocess

import pytest

from tests.paths import PY3, PY27

SUPPORTED = ["9.0", "9.1", "9.2"]


def upgrade_check(python, stage, *args):
    return subprocess.run([str(python), str(stage / "tools" / "upgrade_check.py"), *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("python", [PY27, PY3], ids=["python2.7", "python3"])
@pytest.mark.parametrize("fuel", SUPPORTED + ["9.2.1"])
def test_fuel_9_is_supported(python, fuel, stage, plugin_version):
    result = upgrade_check(python, stage, "--fuel-version", fuel)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"fuel-plugin-xenserver {plugin_version} supports Fuel {fuel[:3]}" in result.stdout


@pytest.mark.parametrize("python", [PY27, PY3], ids=["python2.7", "python3"])
def test_fuel_10_needs_a_newer_plugin(python, stage):
    result = upgrade_check(python, stage, "--fuel-version", "10.0")
    assert result.returncode == 1
    assert "does not support Fuel 10.0" in result.stdout
    assert "before upgrading the Fuel master" in result.stdout


def test_reads_the_masters_release_file(stage, tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("upgrade_check", stage / "tools" / "upgrade_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    release = tmp_path / "fuel_release"
    release.write_text("9.1\n")
    version_yaml = tmp_path / "version.yaml"
    version_yaml.write_text("VERSION:\n  release: '10.0'\n")
    assert module.master_version([str(release)]) == "9.1"
    assert module.master_version([str(tmp_path / "absent"), str(version_yaml)]) == "10.0"
    with pytest.raises(module.VersionUnknownError):
        module.master_version([str(tmp_path / "absent")])


def test_not_a_fuel_master_says_so(stage):
    result = upgrade_check(PY3, stage, "--metadata", str(stage / "metadata.yaml"), "--fuel-version", "x")
    assert result.returncode == 2
    assert "cannot tell" in result.stdout
