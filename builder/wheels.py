"""Hash-pinned wheels from PyPI, one per requirements file (vendor.txt, dom0-plugins.txt), cached in .work/downloads.

pip checks the hash when it downloads; the cached file is checked again on every use, as it may have changed since.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

from builder import REPO

DOWNLOADS = REPO / ".work" / "downloads"


class WheelError(Exception):
    """The pinned wheel cannot be had: the download failed, or the cached file is not the pinned one."""


def pinned(requirements: Path) -> str:
    """The requirement line's `name==version`: the first line that is not blank or a comment."""
    return next(line.split()[0] for line in requirements.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def pattern(requirements: Path) -> str:
    """The file name of the pinned version's wheels, e.g. os_xenapi-0.3.4-*.whl."""
    name, version = pinned(requirements).split("==")
    return f"{name.replace('-', '_')}-{version}-*.whl"


def cached(requirements: Path, downloads: Path = DOWNLOADS) -> list[Path]:
    """The pinned version's wheels already in downloads (none, or one unless someone put more there)."""
    return sorted(downloads.glob(pattern(requirements)))


def download(requirements: Path, downloads: Path = DOWNLOADS) -> Path:
    """The pinned wheel: pip download (--require-hashes) unless cached, then its sha256 checked against the pin."""
    wheels = cached(requirements, downloads)
    if not wheels:
        downloads.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
               "-q", "-d", str(downloads), "-r", str(requirements)]
        result = subprocess.run(pip, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise WheelError(f"cannot download {pinned(requirements)} from PyPI ({requirements.name}; "
                             f"is the index reachable?): {result.stderr.strip()[-500:]}")
        wheels = cached(requirements, downloads)
    if len(wheels) != 1:
        raise WheelError(f"expected one {pattern(requirements)} in {downloads}, found {len(wheels)}")
    verify_hash(wheels[0], requirements)
    return wheels[0]


def verify_hash(wheel: Path, requirements: Path) -> None:
    """pip checked the hash when downloading; check again, as the cached file may have changed since."""
    expected = {part.split(":", 1)[1] for line in requirements.read_text().splitlines()
                for part in line.split() if part.startswith("--hash=sha256:")}
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if actual not in expected:
        raise WheelError(f"{wheel} has sha256 {actual}, not the one pinned in {requirements.name}")
