"""A reproducible noarch RPM of plain files, readable by the old rpm of XenServer 6.5's CentOS 5 Dom0.

rpmbuild runs in a private top dir; the spec lists every file with its mode. Payload gzip and MD5 file digests
keep rpm 4.4 able to install it; SOURCE_DATE_EPOCH, a fixed build host and clamped mtimes make it reproducible.
"""
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class RpmBuildError(Exception):
    pass


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    release: str
    summary: str
    description: str
    license: str
    vendor: str
    url: str
    # target path in the installed system -> (content, mode)
    files: dict[str, tuple[bytes, int]]


REPRODUCIBLE_MACROS = {
    "_buildhost": "reproducible",
    "use_source_date_epoch_as_buildtime": "1",
    "clamp_mtime_to_source_epoch": "1",
    "_binary_payload": "w9.gzdio",
    "_binary_filedigest_algorithm": "1",
    "_build_id_links": "none",
    # No brp scripts: they would byte-compile the Python plugins into .pyc files Dom0 does not need.
    "__os_install_post": "%{nil}",
    "__spec_install_post": "%{nil}",
    "_source_payload": "w9.gzdio",
}


def spec_text(package: Package) -> str:
    lines = [
        f"Name: {package.name}",
        f"Version: {package.version}",
        f"Release: {package.release}",
        f"Summary: {package.summary}",
        f"License: {package.license}",
        f"Vendor: {package.vendor}",
        f"URL: {package.url}",
        "Group: Applications/System",
        "BuildArch: noarch",
        "AutoReqProv: no",
        "",
        "%description",
        package.description,
        "",
        "%install",
        "rm -rf %{buildroot}",
        "cp -a %{_sourcedir}/root %{buildroot}",
        "",
        "%files",
    ]
    lines += [f"%attr({mode:04o},root,root) {path}" for path, (_, mode) in sorted(package.files.items())]
    return "\n".join(lines) + "\n"


def build(package: Package, workdir: Path, out_dir: Path, epoch: int) -> Path:
    """rpmbuild -bb in workdir; returns the RPM moved into out_dir."""
    if workdir.exists():
        shutil.rmtree(workdir)
    root = workdir / "SOURCES" / "root"
    for path, (content, mode) in package.files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (epoch, epoch))
    spec = workdir / "SPECS" / f"{package.name}.spec"
    spec.parent.mkdir(parents=True)
    spec.write_text(spec_text(package))
    argv = ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {workdir}"]
    for macro, value in REPRODUCIBLE_MACROS.items():
        argv += ["--define", f"{macro} {value}"]
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), LC_ALL="C", TZ="UTC")
    result = subprocess.run([*argv, str(spec)], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RpmBuildError(f"rpmbuild failed for {package.name}: {result.stderr.strip()[-2000:]}")
    rpms = sorted((workdir / "RPMS" / "noarch").glob(f"{package.name}-*.noarch.rpm"))
    if len(rpms) != 1:
        raise RpmBuildError(f"rpmbuild left {len(rpms)} RPMs for {package.name}, expected one")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / rpms[0].name
    shutil.move(rpms[0], target)
    os.utime(target, (epoch, epoch))
    return target
