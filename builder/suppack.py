"""Build the XenServer supplemental pack of Nova's and Neutron's Dom0 plugins, in both install formats.

Usage: python -m builder.suppack --out .work/artifacts/plugin/deployment_scripts/suppack
       DOM0_PLUGINS_SRC=/path/to/nova-and-neutron python -m builder.suppack --out ...

One noarch RPM installs the plugins into /etc/xapi.d/plugins (mode 0755), shipped in two ISOs:
- `<name>-<version>-suppack.iso`, the legacy supplemental pack that `xe-install-supplemental-pack` installs on
  XenServer before 7.1: XS-REPOSITORY (pack identity, originator and the XenServer it requires), XS-PACKAGES (the
  RPM with size and md5), the RPM and yum repodata;
- `<name>-<version>-update.iso`, the update that `xe update-upload` / `xe update-apply` install from 7.1 on:
  update.xml (name-label, uuid, version, originator, installation size, the XenServer it requires), RPM, repodata.
`suppack.json` beside them tells the node code the pack's version (the version the plugins report), the update's
uuid and every plugin file. Same source and SOURCE_DATE_EPOCH: same bytes.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from builder import REPO, dom0_plugins, iso, noarch_rpm, source_date_epoch

PACK_NAME = "xenapi-plugins"
ORIGINATOR = "openstack"
PRODUCT = "XenServer"
PLUGINS_DIR = "/etc/xapi.d/plugins"
PLUGIN_MODE = 0o755
RPM_RELEASE = "1"
# Legacy packs install on every XenServer the plugin supports; updates exist from 7.1 (platform 2.2.0) on.
LEGACY_REQUIRES_VERSION = "6.5.0"
UPDATE_REQUIRES_VERSION = "7.1.0"
# Every date inside the RPM, the repodata and the ISOs, unless SOURCE_DATE_EPOCH says otherwise (2016-04-07,
# the Mitaka release): dates must not depend on when the build ran.
DEFAULT_EPOCH = 1459987200
UPDATE_UUID_NAMESPACE = uuid.UUID("6f2b7a56-3c1e-4f0b-9a59-1d0c2f3e8a41")
METADATA_FILE = "suppack.json"
WORKDIR = REPO / ".work" / "build" / "suppack"


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    build: str
    description: str

    @property
    def update_uuid(self) -> str:
        """Stable for the same content, different for different content: XenServer identifies updates by uuid."""
        return str(uuid.uuid5(UPDATE_UUID_NAMESPACE, f"{self.name}/{self.version}/{self.build}"))

    @property
    def legacy_iso(self) -> str:
        return f"{self.name}-{self.version}-suppack.iso"

    @property
    def update_iso(self) -> str:
        return f"{self.name}-{self.version}-update.iso"


def xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" ?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def requires(parent: ET.Element, version: str) -> None:
    ET.SubElement(parent, "requires", originator="xs", name="main", test="ge", product=PRODUCT, version=version)


def xs_repository(pack: Pack) -> bytes:
    root = ET.Element("repository", originator=ORIGINATOR, name=pack.name, product=PRODUCT,
                      version=pack.version, build=pack.build)
    ET.SubElement(root, "description").text = pack.description
    requires(root, LEGACY_REQUIRES_VERSION)
    return xml_bytes(root)


def xs_packages(pack: Pack, rpm: Path) -> bytes:
    root = ET.Element("packages")
    data = rpm.read_bytes()
    package = ET.SubElement(root, "package", label=pack.name, type="rpm", size=str(len(data)),
                            md5=hashlib.md5(data).hexdigest(), root="/", options="-U")
    package.text = rpm.name
    return xml_bytes(root)


def update_xml(pack: Pack, installation_size: int) -> bytes:
    root = ET.Element("update", {"name-label": pack.name, "uuid": pack.update_uuid, "version": pack.version,
                                 "build": pack.build, "originator": ORIGINATOR,
                                 "installation-size": str(installation_size), "after-apply-guidance": ""})
    ET.SubElement(root, "name-description").text = pack.description
    requires(root, UPDATE_REQUIRES_VERSION)
    return xml_bytes(root)


def createrepo(directory: Path, epoch: int) -> None:
    argv = ["createrepo_c", "--quiet", "--no-database", "--revision", str(epoch), "--set-timestamp-to-revision",
            str(directory)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"createrepo_c failed in {directory}: {result.stderr.strip()}")
    for path in (directory / "repodata").iterdir():
        os.utime(path, (epoch, epoch))


def stage(directory: Path, rpm: Path, metadata: dict[str, bytes], epoch: int) -> Path:
    """A directory holding the RPM, its repodata and the pack's metadata files, every date set to epoch."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    shutil.copy2(rpm, directory / rpm.name)
    createrepo(directory, epoch)
    for name, content in metadata.items():
        (directory / name).write_bytes(content)
    for path in [directory, *directory.rglob("*")]:
        os.utime(path, (epoch, epoch))
    return directory


def rpm_package(pack: Pack, plugins: dom0_plugins.PluginSet) -> noarch_rpm.Package:
    return noarch_rpm.Package(
        name=pack.name, version=pack.version, release=RPM_RELEASE,
        summary="OpenStack Nova and Neutron plugins for XenServer Dom0",
        description=pack.description, license="ASL 2.0", vendor="OpenStack",
        url="https://opendev.org/x/os-xenapi",
        files={f"{PLUGINS_DIR}/{name}": (content, PLUGIN_MODE) for name, content in plugins.files.items()})


def publish(staged: Path, out: Path) -> bool:
    """Make out hold exactly the staged files, replacing only those whose bytes differ, so an unchanged pack
    keeps its files' dates and `make` does not rebuild the plugin RPM. suppack.json is touched last whenever
    anything changed: it is the file make watches. Returns whether anything changed."""
    out.mkdir(parents=True, exist_ok=True)
    wanted = {path.name for path in staged.iterdir()}
    changed = False
    for old in [*out.glob(f"{PACK_NAME}-*.iso"), out / METADATA_FILE]:
        if old.exists() and old.name not in wanted:
            old.unlink()
            changed = True
    for name in sorted(wanted, key=lambda name: name == METADATA_FILE):
        source, target = staged / name, out / name
        if target.exists() and target.read_bytes() == source.read_bytes() and not (name == METADATA_FILE and changed):
            continue
        shutil.copy2(source, target)
        if name == METADATA_FILE:
            os.utime(target)
        changed = True
    return changed


def build(plugins: dom0_plugins.PluginSet, out: Path, epoch: int = DEFAULT_EPOCH, workdir: Path | None = None) -> dict:
    """RPM, both ISOs and suppack.json in out (older packs there are removed); returns the metadata written."""
    workdir = workdir or WORKDIR
    final_out, out = out, workdir / "out"
    if out.exists():
        shutil.rmtree(out)
    pack = Pack(name=PACK_NAME, version=plugins.version, build=plugins.digest[:12],
                description=f"OpenStack Nova and Neutron Dom0 plugins, plugin version {plugins.version}, "
                            f"from {plugins.source}")
    package = rpm_package(pack, plugins)
    rpm = noarch_rpm.build(package, workdir / "rpmbuild", workdir / "rpm", epoch)
    installation_size = sum(len(content) for content, _ in package.files.values())
    legacy = stage(workdir / "legacy", rpm, {"XS-REPOSITORY": xs_repository(pack),
                                             "XS-PACKAGES": xs_packages(pack, rpm)}, epoch)
    update = stage(workdir / "update", rpm, {"update.xml": update_xml(pack, installation_size)}, epoch)
    out.mkdir(parents=True)
    volume = f"{PACK_NAME}-{pack.version}".upper().replace("-", "_").replace(".", "_")
    iso.make_iso(legacy, out / pack.legacy_iso, volume, epoch, publisher=ORIGINATOR)
    iso.make_iso(update, out / pack.update_iso, volume, epoch, publisher=ORIGINATOR)
    metadata = {
        "name": pack.name,
        "version": pack.version,
        "build": pack.build,
        "originator": ORIGINATOR,
        "source": plugins.source,
        "rpm": rpm.name,
        "legacy_iso": pack.legacy_iso,
        "update_iso": pack.update_iso,
        "update_uuid": pack.update_uuid,
        "plugins_dir": PLUGINS_DIR,
        "version_plugin": plugins.version_plugin,
        "plugins": sorted(plugins.files),
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    publish(out, final_out)
    return metadata


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the ISOs and suppack.json")
    args = parser.parse_args(argv)
    try:
        plugins = dom0_plugins.load()
        metadata = build(plugins, args.out, source_date_epoch(DEFAULT_EPOCH))
    except (dom0_plugins.PluginSourceError, noarch_rpm.RpmBuildError, iso.IsoError, RuntimeError) as error:
        sys.exit(f"cannot build the supplemental pack: {error}")
    print(f"{args.out / metadata['legacy_iso']}\n{args.out / metadata['update_iso']}")


if __name__ == "__main__":
    main()
