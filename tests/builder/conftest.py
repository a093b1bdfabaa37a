import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from builder import version
from tests.paths import OUTPUT, STAGE


@pytest.fixture(scope="session", autouse=True)
def no_bytecode_in_the_staged_tree():
    """Tests run the staged scripts; bytecode they left would be files the RPM does not have."""
    saved = os.environ.get("PYTHONDONTWRITEBYTECODE")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.dont_write_bytecode = True
    yield
    if saved is None:
        del os.environ["PYTHONDONTWRITEBYTECODE"]
    else:
        os.environ["PYTHONDONTWRITEBYTECODE"] = saved


@pytest.fixture(scope="session")
def plugin_version() -> str:
    return version.plugin_version()


@pytest.fixture(scope="session")
def rpm(plugin_version: str) -> Path:
    """The RPM `make` built for this commit (make test builds it first)."""
    path = OUTPUT / version.rpm_name(plugin_version)
    assert path.is_file(), f"{path} missing: run `make` first"
    return path


@pytest.fixture(scope="session")
def stage(rpm: Path) -> Path:
    assert (STAGE / "metadata.yaml").is_file()
    return STAGE


@pytest.fixture(scope="session")
def rpm_files(rpm: Path) -> set[str]:
    out = subprocess.run(["rpm", "-qpl", str(rpm)], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.fixture(scope="session")
def staged_metadata(stage: Path) -> dict:
    return yaml.safe_load((stage / "metadata.yaml").read_text())
