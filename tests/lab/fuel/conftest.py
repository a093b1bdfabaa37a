"""Fuel-side lab tests: a lab per module (real namespaces; root needed, skipped otherwise)."""
import secrets
import shutil
from pathlib import Path

import pytest

from lab import delivery, fuellab, runtime
from lab.environment import HostChoice
from tests.lab.conftest import needs_root  # noqa: F401 (the fuel tests import it from here)
from tests.paths import FIXTURES

XS_HA = FIXTURES / "nailgun" / "xs-ha"
def unique_prefix(tag: str) -> str:
    """`f<tag><3 hex>`: this test run's own lab, so concurrent runs on a shared machine never meet."""
    return f"f{tag}{secrets.token_hex(2)[:3]}"


SMALL_PREFIX = unique_prefix("s")  # tests take it from the fixture's lab (this module may be imported twice)


def xs_ha_subset(directory: Path, *names: str) -> Path:
    """A fixtures dir holding some of the xs-ha nodes' astute.yaml files."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(XS_HA / name, directory)
    return directory


@pytest.fixture(scope="package")
def small_lab(tmp_path_factory):
    """primary controller node-9, compute node-12 on XenServer 7.0 host xs-12, Cinder node-15 (not deployed).

    One lab for the whole package: tests use it without deploying the plugin, and undo nothing they need.
    """
    prefix = SMALL_PREFIX
    fixtures = xs_ha_subset(tmp_path_factory.mktemp("fixtures"), "primary-controller-node9.yaml",
                            "compute-node12.yaml", "cinder-node15.yaml")
    # the newest RPM even if node code changed since (freshness has its own test; make test builds first)
    lab, fuel = fuellab.up(prefix, fixtures, [HostChoice("7.0.0")], rpm=delivery.newest_rpm())
    yield lab, fuel
    runtime.down(prefix)
    assert runtime.is_up(prefix) is False
