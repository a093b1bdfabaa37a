"""lab.xenserver.packs against the built supplemental pack ISOs and broken variants of them (no lab needed)."""
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from builder import dom0_plugins, iso, suppack
from lab.xenserver import packs


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("suppack")
    metadata = suppack.build(dom0_plugins.from_pypi(), out, workdir=tmp_path_factory.mktemp("work"))
    return out, metadata


@pytest.fixture(scope="module")
def legacy_iso(built) -> Path:
    out, metadata = built
    return out / metadata["legacy_iso"]


@pytest.fixture(scope="module")
def update_iso(built) -> Path:
    out, metadata = built
    return out / metadata["update_iso"]


def rebuilt(source_iso: Path, tmp_path: Path, change) -> Path:
    """source_iso unpacked, changed by change(tree), packed again with the real tools."""
    tree = tmp_path / "tree"
    subprocess.run(["osirrox", "-no_rc", "-indev", str(source_iso), "-extract", "/", str(tree)],
                   capture_output=True, check=True)
    for path in [tree, *tree.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    change(tree)
    return iso.make_iso(tree, tmp_path / "changed.iso", "CHANGED", suppack.DEFAULT_EPOCH)


def edit_xml(path: Path, edit) -> None:
    root = ET.parse(path).getroot()
    edit(root)
    path.write_bytes(ET.tostring(root))


def test_read_legacy_pack(legacy_iso, built):
    _, metadata = built
    pack = packs.read_pack(legacy_iso)
    assert pack.format == packs.LEGACY
    assert (pack.name, pack.version, pack.build, pack.originator) == (
        "xenapi-plugins", "2.1", metadata["build"], "openstack")
    assert pack.repo_key == "openstack:xenapi-plugins"
    assert pack.uuid is None
    assert pack.requires == (packs.Requirement("xs", "main", "ge", "XenServer", "6.5.0"),)
    [rpm] = pack.rpms
    assert (rpm.path, rpm.name, rpm.version, rpm.release) == (metadata["rpm"], "xenapi-plugins", "2.1", "1")
    assert rpm.files == tuple(f"/etc/xapi.d/plugins/{name}" for name in metadata["plugins"])


def test_read_update(update_iso, built):
    _, metadata = built
    pack = packs.read_pack(update_iso, expect=packs.UPDATE)
    assert pack.format == packs.UPDATE
    assert (pack.name, pack.version, pack.uuid) == ("xenapi-plugins", "2.1", metadata["update_uuid"])
    assert pack.installation_size > 0 and pack.after_apply_guidance == ()
    assert pack.requires == (packs.Requirement("xs", "main", "ge", "XenServer", "7.1.0"),)


@pytest.mark.parametrize(("version", "legacy_ok", "update_ok"), [
    ("6.5.0", True, False), ("7.0.0", True, False), ("7.1.0", True, True), ("7.2.0", True, True)])
def test_applies_to(legacy_iso, update_iso, version, legacy_ok, update_ok):
    for path, expected in ((legacy_iso, legacy_ok), (update_iso, update_ok)):
        pack = packs.read_pack(path)
        if expected:
            packs.check_applies_to(pack, {"product_brand": "XenServer", "product_version": version})
            continue
        with pytest.raises(packs.PackError) as refused:
            packs.check_applies_to(pack, {"product_version": version})
        assert refused.value.details == [packs.WRONG_SERVER_VERSION, pack.uuid, version, "XenServer ge 7.1.0"]


def test_other_product_is_refused(legacy_iso):
    pack = packs.read_pack(legacy_iso)
    with pytest.raises(packs.PackError) as refused:
        pack.check_applies("XCP-ng", "7.1.0")
    assert refused.value.code == packs.SUPPACK_INSTALL_FAILED
    assert "requires XenServer ge 6.5.0" in refused.value.params[0]


def test_wrong_format_for_the_command(legacy_iso, update_iso):
    with pytest.raises(packs.PackError) as refused:
        packs.read_pack(legacy_iso, expect=packs.UPDATE)
    assert refused.value.details[0] == packs.INVALID_UPDATE
    with pytest.raises(packs.PackError) as refused:
        packs.read_pack(update_iso, expect=packs.LEGACY)
    assert refused.value.code == packs.SUPPACK_INSTALL_FAILED


def test_install_payload(update_iso, built, tmp_path):
    _, metadata = built
    installed = packs.install_payload(packs.read_pack(update_iso), tmp_path)
    assert installed == [f"/etc/xapi.d/plugins/{name}" for name in metadata["plugins"]]
    plugins = tmp_path / "etc" / "xapi.d" / "plugins"
    assert sorted(path.name for path in plugins.iterdir()) == metadata["plugins"]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o755 for path in plugins.iterdir())
    assert "PLUGIN_VERSION = \"2.1\"" in (plugins / "dom0_plugin_version.py").read_text()


def test_not_an_iso(tmp_path):
    path = tmp_path / "x.iso"
    path.write_text("hello")
    with pytest.raises(packs.PackError, match="not a readable ISO"):
        packs.read_pack(path)
    with pytest.raises(packs.PackError, match="no such file"):
        packs.read_pack(tmp_path / "missing.iso")


def test_update_without_uuid(update_iso, tmp_path):
    changed = rebuilt(update_iso, tmp_path, lambda tree: edit_xml(tree / "update.xml",
                                                                  lambda root: root.attrib.pop("uuid")))
    with pytest.raises(packs.PackError) as refused:
        packs.read_pack(changed)
    assert refused.value.details == [packs.INVALID_UPDATE, "<update> has no uuid attribute"]


def test_update_without_product(update_iso, tmp_path):
    def drop_requires(root):
        for node in root.findall("requires"):
            root.remove(node)
    changed = rebuilt(update_iso, tmp_path, lambda tree: edit_xml(tree / "update.xml", drop_requires))
    with pytest.raises(packs.PackError, match="names no XenServer product"):
        packs.read_pack(changed)


def test_legacy_rpm_not_matching_xs_packages(legacy_iso, tmp_path):
    def corrupt(tree):
        rpm = next(tree.glob("*.rpm"))
        rpm.write_bytes(rpm.read_bytes() + b"\0")
    with pytest.raises(packs.PackError, match="size and md5"):
        packs.read_pack(rebuilt(legacy_iso, tmp_path, corrupt))


def test_legacy_without_repodata(legacy_iso, tmp_path):
    changed = rebuilt(legacy_iso, tmp_path, lambda tree: shutil.rmtree(tree / "repodata"))
    with pytest.raises(packs.PackError, match="no yum repository"):
        packs.read_pack(changed)
