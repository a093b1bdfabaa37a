"""The supplemental pack ISOs, read back with real tools: osirrox/xorriso for the ISOs, rpm for the package.

Builds the pack once from the pinned os-xenapi wheel (cached in .work/downloads) into a temporary directory,
and once from a Mitaka-like source tree (DOM0_PLUGINS_SRC) whose plugins report version 1.3.
"""
import gzip
import hashlib
import json
import os
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from builder import dom0_plugins, suppack

RPM_NS = {"repo": "http://linux.duke.edu/metadata/repo", "common": "http://linux.duke.edu/metadata/common"}


def build_into(out: Path, workdir: Path, plugins: dom0_plugins.PluginSet, epoch: int = suppack.DEFAULT_EPOCH):
    return suppack.build(plugins, out, epoch, workdir=workdir)


@pytest.fixture(scope="module")
def pypi_plugins() -> dom0_plugins.PluginSet:
    return dom0_plugins.from_pypi()


@pytest.fixture(scope="module")
def built(tmp_path_factory, pypi_plugins) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("suppack")
    metadata = build_into(out, tmp_path_factory.mktemp("work"), pypi_plugins)
    return out, metadata


def extract(iso: Path, target: Path) -> Path:
    subprocess.run(["osirrox", "-no_rc", "-indev", str(iso), "-extract", "/", str(target)],
                   capture_output=True, check=True)
    return target


def iso_tree(iso: Path, tmp_path: Path) -> dict[str, Path]:
    root = extract(iso, tmp_path / iso.stem)
    return {str(path.relative_to(root)): path for path in root.rglob("*") if path.is_file()}


def rpm_query(rpm: Path, fmt: str) -> str:
    return subprocess.run(["rpm", "-qp", "--nosignature", "--qf", fmt, str(rpm)], capture_output=True, text=True,
                          check=True).stdout


def rpm_dump(rpm: Path) -> dict[str, dict]:
    """rpm -qpl --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink."""
    out = subprocess.run(["rpm", "-qpl", "--dump", "--nosignature", str(rpm)], capture_output=True, text=True,
                         check=True).stdout
    entries = {}
    for line in out.splitlines():
        path, size, mtime, digest, mode, owner, group, *_ = line.split()
        entries[path] = {"size": int(size), "mtime": int(mtime), "digest": digest, "mode": int(mode, 8),
                         "owner": owner, "group": group}
    return entries


def test_metadata_json_describes_pack(built, pypi_plugins):
    out, metadata = built
    assert json.loads((out / "suppack.json").read_text()) == metadata
    assert metadata["name"] == "xenapi-plugins"
    assert metadata["version"] == "2.1" == pypi_plugins.version
    assert metadata["version_plugin"] == "dom0_plugin_version.py"
    assert metadata["source"].startswith("os-xenapi-0.3.4")
    assert {"netwrap.py", "dom0_plugin_version.py", "xenhost.py", "glance.py"} <= set(metadata["plugins"])
    assert metadata["legacy_iso"] == "xenapi-plugins-2.1-suppack.iso"
    assert metadata["update_iso"] == "xenapi-plugins-2.1-update.iso"
    assert uuid.UUID(metadata["update_uuid"]).version == 5
    assert sorted(path.name for path in out.iterdir()) == sorted(
        ["suppack.json", metadata["legacy_iso"], metadata["update_iso"]])


def test_rpm_header_and_modes(built, tmp_path):
    out, metadata = built
    files = iso_tree(out / metadata["update_iso"], tmp_path)
    rpm = files[metadata["rpm"]]
    assert rpm_query(rpm, "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{PAYLOADCOMPRESSOR}") == \
        "xenapi-plugins|2.1|1|noarch|ASL 2.0|gzip"
    assert rpm_query(rpm, "%{BUILDTIME}|%{BUILDHOST}") == f"{suppack.DEFAULT_EPOCH}|reproducible"
    dump = rpm_dump(rpm)
    assert set(dump) == {f"/etc/xapi.d/plugins/{name}" for name in metadata["plugins"]}
    for entry in dump.values():
        assert entry["mode"] == 0o100755
        assert (entry["owner"], entry["group"]) == ("root", "root")
        assert entry["mtime"] == suppack.DEFAULT_EPOCH
        assert len(entry["digest"]) == 32  # MD5 file digests: XenServer 6.5's rpm 4.4 reads them


def test_rpm_payload_is_the_pinned_plugins(built, pypi_plugins, tmp_path):
    out, metadata = built
    rpm = iso_tree(out / metadata["legacy_iso"], tmp_path)[metadata["rpm"]]
    archive = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["cpio", "-idm", "--quiet", "-D", str(root)], input=archive, check=True)
    installed = root / "etc" / "xapi.d" / "plugins"
    assert {path.name: path.read_bytes() for path in installed.iterdir()} == pypi_plugins.files
    assert all(path.stat().st_mode & 0o111 == 0o111 for path in installed.iterdir())


def test_legacy_iso_layout_and_metadata(built, tmp_path):
    out, metadata = built
    files = iso_tree(out / metadata["legacy_iso"], tmp_path)
    assert {"XS-REPOSITORY", "XS-PACKAGES", metadata["rpm"], "repodata/repomd.xml"} <= set(files)
    assert "update.xml" not in files
    repository = ET.parse(files["XS-REPOSITORY"]).getroot()
    assert repository.tag == "repository"
    assert repository.attrib == {"originator": "openstack", "name": "xenapi-plugins", "product": "XenServer",
                                 "version": "2.1", "build": metadata["build"]}
    assert "plugin version 2.1" in repository.findtext("description")
    [requires] = repository.findall("requires")
    assert requires.attrib == {"originator": "xs", "name": "main", "test": "ge", "product": "XenServer",
                               "version": "6.5.0"}
    [package] = ET.parse(files["XS-PACKAGES"]).getroot().findall("package")
    data = files[metadata["rpm"]].read_bytes()
    assert package.text == metadata["rpm"]
    assert package.attrib == {"label": "xenapi-plugins", "type": "rpm", "size": str(len(data)),
                              "md5": hashlib.md5(data).hexdigest(), "root": "/", "options": "-U"}


def test_update_iso_layout_and_metadata(built, tmp_path):
    out, metadata = built
    files = iso_tree(out / metadata["update_iso"], tmp_path)
    assert {"update.xml", metadata["rpm"], "repodata/repomd.xml"} <= set(files)
    assert "XS-REPOSITORY" not in files and "XS-PACKAGES" not in files
    update = ET.parse(files["update.xml"]).getroot()
    size = sum(entry["size"] for entry in rpm_dump(files[metadata["rpm"]]).values())
    assert update.tag == "update"
    assert update.attrib == {"name-label": "xenapi-plugins", "uuid": metadata["update_uuid"], "version": "2.1",
                             "build": metadata["build"], "originator": "openstack",
                             "installation-size": str(size), "after-apply-guidance": ""}
    assert "plugin version 2.1" in update.findtext("name-description")
    [requires] = update.findall("requires")
    assert requires.attrib == {"originator": "xs", "name": "main", "test": "ge", "product": "XenServer",
                               "version": "7.1.0"}


@pytest.mark.parametrize("which", ["legacy_iso", "update_iso"])
def test_repodata_lists_the_rpm(built, tmp_path, which):
    out, metadata = built
    files = iso_tree(out / metadata[which], tmp_path)
    repomd = ET.parse(files["repodata/repomd.xml"]).getroot()
    primary = repomd.find("repo:data[@type='primary']/repo:location", RPM_NS).get("href")
    packages = ET.fromstring(gzip.decompress(files[primary].read_bytes())).findall("common:package", RPM_NS)
    assert [p.find("common:location", RPM_NS).get("href") for p in packages] == [metadata["rpm"]]
    checksum = packages[0].find("common:checksum", RPM_NS)
    assert checksum.text == hashlib.new(checksum.get("type"), files[metadata["rpm"]].read_bytes()).hexdigest()


@pytest.mark.parametrize("which", ["legacy_iso", "update_iso"])
def test_iso_volume(built, which):
    out, metadata = built
    info = subprocess.run(["xorriso", "-no_rc", "-indev", str(out / metadata[which]), "-pvd_info"],
                          capture_output=True, text=True, check=True).stdout
    assert "Volume Id    : XENAPI_PLUGINS_2_1" in info
    assert "Publisher Id : OPENSTACK" in info
    assert "Creation Time: 2016040700000000" in info
    assert "Modif. Time  : 2016040700000000" in info


def test_reproducible(built, pypi_plugins, tmp_path):
    out, metadata = built
    again = tmp_path / "again"
    assert build_into(again, tmp_path / "elsewhere", pypi_plugins) == metadata
    for name in (metadata["legacy_iso"], metadata["update_iso"], "suppack.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_other_epoch_changes_bytes_not_identity(built, pypi_plugins, tmp_path):
    out, metadata = built
    assert build_into(tmp_path / "o", tmp_path / "w", pypi_plugins, epoch=suppack.DEFAULT_EPOCH + 86400) == metadata
    assert (tmp_path / "o" / metadata["update_iso"]).read_bytes() != (out / metadata["update_iso"]).read_bytes()


MITAKA_VERSION_PLUGIN = '''#!/usr/bin/env python
"""Returns the version of the nova plugins"""
import utils
PLUGIN_VERSION = "1.3"
def get_version(session):
    return PLUGIN_VERSION
if __name__ == '__main__':
    utils.register_plugin_calls(get_version)
'''


def mitaka_tree(root: Path, with_netwrap: bool = True) -> Path:
    nova = root / "nova" / "plugins" / "xenserver" / "xenapi" / "etc" / "xapi.d" / "plugins"
    nova.mkdir(parents=True)
    (nova / "nova_plugin_version").write_text(MITAKA_VERSION_PLUGIN)
    (nova / "xenhost").write_text("# xenhost\n")
    (nova / "utils.py").write_text("# helpers\n")
    (nova / "utils.pyc").write_bytes(b"\0compiled")
    neutron = root / "neutron" / "neutron" / "plugins" / "ml2" / "drivers" / "openvswitch" / "agent" / "xenapi" \
        / "etc" / "xapi.d" / "plugins"
    neutron.mkdir(parents=True)
    if with_netwrap:
        (neutron / "netwrap").write_text("# netwrap\n")
        (neutron / "netwrap").chmod(0o644)  # as in Neutron's git tree
    return root


def test_source_tree_variable(tmp_path, monkeypatch):
    tree = mitaka_tree(tmp_path / "src")
    monkeypatch.setenv("DOM0_PLUGINS_SRC", str(tree))
    plugins = dom0_plugins.load()
    assert (plugins.version, plugins.version_plugin) == ("1.3", "nova_plugin_version")
    assert sorted(plugins.files) == ["netwrap", "nova_plugin_version", "utils.py", "xenhost"]
    metadata = build_into(tmp_path / "out", tmp_path / "work", plugins)
    assert metadata["legacy_iso"] == "xenapi-plugins-1.3-suppack.iso"
    assert metadata["source"] == f"source tree {tree}"
    files = iso_tree(tmp_path / "out" / metadata["update_iso"], tmp_path)
    assert {path: entry["mode"] for path, entry in rpm_dump(files[metadata["rpm"]]).items()} == {
        f"/etc/xapi.d/plugins/{name}": 0o100755 for name in plugins.files}
    assert ET.parse(files["update.xml"]).getroot().get("version") == "1.3"


def test_source_tree_without_netwrap_is_refused(tmp_path):
    with pytest.raises(dom0_plugins.PluginSourceError, match="netwrap"):
        dom0_plugins.from_tree(mitaka_tree(tmp_path, with_netwrap=False))


def test_version_plugin_without_version_is_refused():
    with pytest.raises(dom0_plugins.PluginSourceError, match="PLUGIN_VERSION"):
        dom0_plugins.plugin_version("VERSION = '1.3'\n", "nova_plugin_version")


def test_cached_wheel_with_wrong_hash_is_refused(tmp_path):
    wheel = tmp_path / "os_xenapi-0.3.4-py2.py3-none-any.whl"
    wheel.write_bytes(b"not the pinned wheel")
    with pytest.raises(dom0_plugins.PluginSourceError, match="sha256"):
        dom0_plugins.download_wheel(dom0_plugins.REQUIREMENTS, tmp_path)


def test_main_writes_the_artifacts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOM0_PLUGINS_SRC", str(mitaka_tree(tmp_path / "src")))
    monkeypatch.setattr(suppack, "WORKDIR", tmp_path / "work")
    suppack.main(["--out", str(tmp_path / "out")])
    assert capsys.readouterr().out.split() == [str(tmp_path / "out" / "xenapi-plugins-1.3-suppack.iso"),
                                               str(tmp_path / "out" / "xenapi-plugins-1.3-update.iso")]


def test_plugin_rpm_ships_the_pack(rpm_files, built):
    """`make` builds the pack into .work/artifacts/plugin/deployment_scripts/suppack before the plugin RPM."""
    _, metadata = built
    shipped = "/var/www/nailgun/plugins/fuel-plugin-xenserver-4.0/deployment_scripts/suppack/"
    assert {shipped + name for name in ("suppack.json", metadata["legacy_iso"], metadata["update_iso"])} <= rpm_files


def test_rebuild_touches_only_what_changed(pypi_plugins, tmp_path):
    """`make` runs the build every time; an unchanged pack keeps suppack.json's date, so the RPM is not rebuilt."""
    out = tmp_path / "out"
    build_into(out, tmp_path / "w", pypi_plugins)
    stamp = out / "suppack.json"
    os.utime(stamp, (1, 1))
    build_into(out, tmp_path / "w", pypi_plugins)
    assert stamp.stat().st_mtime == 1
    build_into(out, tmp_path / "w", pypi_plugins, epoch=suppack.DEFAULT_EPOCH + 1)  # only the ISOs' bytes differ
    assert stamp.stat().st_mtime > 1
    os.utime(stamp, (1, 1))
    mitaka = dom0_plugins.from_tree(mitaka_tree(tmp_path / "src"))
    build_into(out, tmp_path / "w", mitaka)
    assert stamp.stat().st_mtime > 1
    assert sorted(path.name for path in out.iterdir()) == [
        "suppack.json", "xenapi-plugins-1.3-suppack.iso", "xenapi-plugins-1.3-update.iso"]
