"""Stage the branded plugin tree, vendor the node runtime, and let fuel-plugin-builder pack the RPM.

Usage: python -m builder.plugin --fpb .work/venv-fpb/bin/fpb --out output
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from builder import PLUGIN_NAME, REPO, version, wheels

WORK = REPO / ".work"
STAGE = WORK / "build" / PLUGIN_NAME
VENDOR_REQUIREMENTS = REPO / "requirements" / "vendor.txt"
# Build products of other steps (Dom0 supplemental pack, TestVM image) laid over the staged tree.
ARTIFACTS = WORK / "artifacts" / "plugin"
# Repository files that are not part of the plugin.
EXCLUDED_NAMES = {".gitkeep", "ruff.toml"}


def stage_tree(plugin_version: str, stage: Path = STAGE) -> Path:
    """plugin/ with its version branded, the node package and vendored XenAPI in deployment_scripts/."""
    if stage.exists():
        shutil.rmtree(stage)
    copy_sources(REPO / "plugin", stage)
    metadata = stage / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace(version.source_version(), plugin_version))
    scripts = stage / "deployment_scripts"
    copy_sources(REPO / "node" / "xenserver_plugin", scripts / "xenserver_plugin")
    vendor_xenapi(scripts)
    if ARTIFACTS.is_dir():
        shutil.copytree(ARTIFACTS, stage, dirs_exist_ok=True)
    return stage


def source_files(directory: Path) -> list[Path]:
    """The files git tracks, or would track, below directory: no caches or editor droppings."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z", "--",
                             str(directory.relative_to(REPO))], capture_output=True, check=True).stdout
    return [REPO / name for name in listed.decode().split("\0") if name]


def copy_sources(source: Path, target: Path) -> None:
    for path in source_files(source):
        if path.name in EXCLUDED_NAMES or not path.is_file():
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    for empty in ("repositories/ubuntu", "repositories/centos"):
        if (source / empty).is_dir():
            (target / empty).mkdir(parents=True, exist_ok=True)


def vendor_xenapi(scripts: Path) -> None:
    """Unpack the hash-pinned XenAPI wheel (requirements/vendor.txt) next to the entry points."""
    try:
        xenapi = wheels.download(VENDOR_REQUIREMENTS)
    except wheels.WheelError as error:
        sys.exit(f"cannot vendor the XenAPI SDK: {error}")
    with zipfile.ZipFile(xenapi) as wheel:
        for name in wheel.namelist():
            if name.startswith("XenAPI/"):
                wheel.extract(name, scripts)


def run_fpb(fpb: Path, stage: Path) -> Path:
    """fpb --check then --build; fpb calls `createrepo`, which Debian ships as createrepo_c."""
    shims = WORK / "shims"
    shims.mkdir(parents=True, exist_ok=True)
    createrepo = shims / "createrepo"
    if not createrepo.exists():
        createrepo.symlink_to(shutil.which("createrepo_c") or "/usr/bin/createrepo_c")
    env = dict(os.environ, PATH=f"{shims}:{os.environ['PATH']}")
    for action in ("--check", "--build"):
        result = subprocess.run([str(fpb), action, str(stage)], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"fpb {action} failed:\n{result.stdout}{result.stderr}")
    rpms = sorted(stage.glob(f"{PLUGIN_NAME}-*.noarch.rpm"))
    if len(rpms) != 1:
        sys.exit(f"fpb --build left {len(rpms)} RPMs in {stage}, expected one")
    return rpms[0]


def publish(rpm: Path, plugin_version: str, out: Path) -> Path:
    """The RPM and fpb-style md5 file in out/, replacing older builds."""
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob(f"{PLUGIN_NAME}-*.noarch.rpm"), *out.glob(f"{PLUGIN_NAME}-*_md5.txt")]:
        old.unlink()
    target = out / version.rpm_name(plugin_version)
    shutil.move(rpm, target)
    digest = hashlib.md5(target.read_bytes()).hexdigest()
    (out / f"{PLUGIN_NAME}-{plugin_version}_md5.txt").write_text(f"{digest}  {target.name}\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fpb", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "output")
    args = parser.parse_args()
    plugin_version = version.plugin_version()
    stage = stage_tree(plugin_version)
    print(publish(run_fpb(args.fpb, stage), plugin_version, args.out))


if __name__ == "__main__":
    main()
