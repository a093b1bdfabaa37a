"""The plugin as Fuel delivers it: the built RPM's payload, unpacked once per lab, copied to every node.

On a Fuel master the RPM installs under /var/www/nailgun/plugins/<name>-<major.minor>/; Fuel then syncs its
`deployment_scripts/` to /etc/fuel/plugins/<name>-<major.minor>/ on each node before the tasks run there.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from lab.environment import PLUGIN_DIR_NAME, PLUGIN_SCRIPTS_PATH
from lab.errors import LabError

REPO = Path(__file__).resolve().parent.parent
RPM_GLOB = "fuel-plugin-xenserver-4.0-*.noarch.rpm"
MASTER_PLUGIN_DIR = f"var/www/nailgun/plugins/{PLUGIN_DIR_NAME}"
SOURCE_DIRS = ("plugin", "node/xenserver_plugin")


class Host(Protocol):
    def run(self, argv: list[str], input: bytes | str | None = None, timeout: float = ..., check: bool = ...
            ) -> subprocess.CompletedProcess[Any]: ...


@dataclass
class Plugin:
    """The unpacked plugin, as it sits on a Fuel master."""

    rpm: Path
    root: Path  # .../var/www/nailgun/plugins/fuel-plugin-xenserver-4.0

    @property
    def deployment_tasks(self) -> Any:
        return yaml.safe_load((self.root / "deployment_tasks.yaml").read_text())

    @property
    def metadata(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "metadata.yaml").read_text())

    @property
    def attributes(self) -> dict[str, Any]:
        return (yaml.safe_load((self.root / "environment_config.yaml").read_text()) or {}).get("attributes", {})

    def serialization(self) -> dict[str, Any]:
        """What environment.with_plugin_section needs to write the plugin's astute section."""
        return {"metadata": self.metadata, "attributes": self.attributes}

    def scripts_tar(self) -> bytes:
        """deployment_scripts/ as a tar stream (modes kept), to unpack at PLUGIN_SCRIPTS_PATH on a node."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(self.root / "deployment_scripts", arcname=".",
                    filter=lambda info: None if "__pycache__" in info.name else _as_root(info))
        return buffer.getvalue()


def find_rpm(output: Path = REPO / "output", sources: tuple[Path, ...] | None = None) -> Path:
    """The newest built plugin RPM; missing or older than the plugin/node sources -> LabError (run make)."""
    rpm = newest_rpm(output)
    newest, newest_time = _newest_source(sources or tuple(REPO / d for d in SOURCE_DIRS))
    if newest is not None and newest_time > rpm.stat().st_mtime:
        shown = newest.relative_to(REPO) if newest.is_relative_to(REPO) else newest
        raise LabError(f"the plugin RPM {rpm.name} is older than {shown}: run `make` to rebuild it")
    return rpm


def newest_rpm(output: Path = REPO / "output") -> Path:
    rpms = sorted(output.glob(RPM_GLOB), key=lambda p: p.stat().st_mtime)
    if not rpms:
        raise LabError(f"no plugin RPM in {output}/ (expected {RPM_GLOB}): run `make` to build it")
    return rpms[-1]


def _newest_source(dirs: tuple[Path, ...]) -> tuple[Path | None, float]:
    newest: Path | None = None
    newest_time = 0.0
    for directory in dirs:
        for path in directory.rglob("*"):
            if not path.is_file() or any(part in ("__pycache__", ".ruff_cache") for part in path.parts):
                continue
            mtime = path.stat().st_mtime
            if mtime > newest_time:
                newest, newest_time = path, mtime
    return newest, newest_time


def unpack(rpm: Path, into: Path) -> Plugin:
    """rpm2cpio | cpio into `into`, once per RPM (labs side by side share it; a new RPM gets a new dir)."""
    marker = into / ".unpacked-from"
    root = into / MASTER_PLUGIN_DIR
    stamp = f"{rpm.resolve()} {rpm.stat().st_mtime_ns}"
    if marker.exists() and marker.read_text() == stamp and root.is_dir():
        return Plugin(rpm=rpm, root=root)
    into.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{into.name}.", dir=into.parent))
    try:
        payload = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=False)
        if payload.returncode != 0:
            raise LabError(f"rpm2cpio cannot read {rpm}: {payload.stderr.decode(errors='replace').strip()}")
        cpio = subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], input=payload.stdout,
                              cwd=scratch, capture_output=True, check=False)
        if cpio.returncode != 0:
            raise LabError(f"cpio cannot unpack {rpm}: {cpio.stderr.decode(errors='replace').strip()}")
        if not (scratch / MASTER_PLUGIN_DIR / "deployment_tasks.yaml").is_file():
            raise LabError(f"{rpm.name} does not hold /{MASTER_PLUGIN_DIR}/deployment_tasks.yaml: run `make` again")
        (scratch / ".unpacked-from").write_text(stamp)
        shutil.rmtree(into, ignore_errors=True)
        try:
            scratch.rename(into)
        except OSError:  # another lab unpacked the same RPM meanwhile
            if not (marker.exists() and marker.read_text() == stamp):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Plugin(rpm=rpm, root=root)


def copy_scripts(plugin: Plugin, host: Host, tar: bytes | None = None) -> None:
    """What Fuel's plugins_rsync does on a node: deployment_scripts/ -> /etc/fuel/plugins/<name>-<version>/."""
    data = tar if tar is not None else plugin.scripts_tar()
    host.run(["mkdir", "-p", PLUGIN_SCRIPTS_PATH], check=True)
    host.run(["tar", "-x", "--no-same-owner", "-C", PLUGIN_SCRIPTS_PATH], input=data, check=True)


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
