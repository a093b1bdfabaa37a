"""The plugin package: fpb accepts it, the RPM carries the whole tree, names follow the version."""
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.paths import FPB, OUTPUT, REPO

INSTALL_ROOT = "/var/www/nailgun/plugins/fuel-plugin-xenserver-4.0"


def fpb_check(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(FPB), "--check", str(tree)], capture_output=True, text=True)


def test_fpb_check_passes_on_branded_tree(stage):
    result = fpb_check(stage)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fpb_check_rejects_a_broken_tree(stage, tmp_path):
    broken = tmp_path / "fuel-plugin-xenserver"
    shutil.copytree(stage, broken, ignore=shutil.ignore_patterns(".build", "*.rpm"))
    metadata = yaml.safe_load((broken / "metadata.yaml").read_text())
    del metadata["releases"]
    (broken / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    assert fpb_check(broken).returncode != 0


def test_version_comes_from_git_history(staged_metadata, plugin_version):
    count = int(subprocess.run(["git", "-C", str(REPO), "rev-list", "--count", "HEAD"],
                               capture_output=True, text=True, check=True).stdout)
    assert plugin_version == f"4.0.{count}"
    assert staged_metadata["version"] == plugin_version


def test_metadata_installs_on_every_fuel_9(staged_metadata):
    assert staged_metadata["name"] == "fuel-plugin-xenserver"
    assert staged_metadata["title"] == "XenServer Plugin"
    assert staged_metadata["package_version"] == "4.0.0"
    assert staged_metadata["groups"] == ["hypervisor"]
    assert staged_metadata["is_hotpluggable"] is False
    assert set(staged_metadata["fuel_version"]) == {"9.0", "9.1", "9.2"}
    [release] = staged_metadata["releases"]
    assert (release["os"], release["version"], release["mode"]) == ("ubuntu", "mitaka-9.0", ["ha"])


def test_rpm_and_md5_names(rpm, plugin_version):
    assert re.fullmatch(r"fuel-plugin-xenserver-4\.0-4\.0\.\d+-1\.noarch\.rpm", rpm.name)
    md5_file = OUTPUT / f"fuel-plugin-xenserver-{plugin_version}_md5.txt"
    digest, name = md5_file.read_text().split()
    assert name == rpm.name
    assert digest == hashlib.md5(rpm.read_bytes()).hexdigest()


def test_rpm_holds_every_file_of_the_staged_tree(stage, rpm_files):
    staged = {
        f"{INSTALL_ROOT}/{path.relative_to(stage)}"
        for path in stage.rglob("*")
        if ".build" not in path.parts and path.suffix != ".rpm"
    }
    assert staged <= rpm_files, sorted(staged - rpm_files)


def test_rpm_holds_every_source_file(rpm_files):
    sources = subprocess.run(["git", "-C", str(REPO), "ls-files", "plugin", "node/xenserver_plugin"],
                             capture_output=True, text=True, check=True).stdout.split()
    expected = set()
    for source in sources:
        path = Path(source)
        if path.name in {".gitkeep", "ruff.toml"}:
            continue
        if path.parts[0] == "node":
            expected.add(f"{INSTALL_ROOT}/deployment_scripts/{path.relative_to('node')}")
        else:
            expected.add(f"{INSTALL_ROOT}/{path.relative_to('plugin')}")
    assert expected <= rpm_files, sorted(expected - rpm_files)
    assert f"{INSTALL_ROOT}/deployment_scripts/XenAPI/XenAPI.py" in rpm_files
