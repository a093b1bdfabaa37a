"""The plugin's version: major.minor from plugin/metadata.yaml, the revision from git history."""
import subprocess
from pathlib import Path

import yaml

from builder import REPO

REV_PLACEHOLDER = "@REV@"


def revision(repo: Path = REPO) -> int:
    """Commits reachable from HEAD: grows with every commit, so every build is a newer package."""
    out = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"cannot count commits in {repo} (is it a git clone?): {out.stderr.strip()}")
    return int(out.stdout)


def source_version(repo: Path = REPO) -> str:
    """The version template of plugin/metadata.yaml, e.g. '4.0.@REV@'."""
    return yaml.safe_load((repo / "plugin" / "metadata.yaml").read_text())["version"]


def plugin_version(repo: Path = REPO) -> str:
    return source_version(repo).replace(REV_PLACEHOLDER, str(revision(repo)))


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def rpm_name(version: str) -> str:
    """fpb's package file name: <name>-<major.minor>-<version>-1.noarch.rpm."""
    return f"fuel-plugin-xenserver-{major_minor(version)}-{version}-1.noarch.rpm"
