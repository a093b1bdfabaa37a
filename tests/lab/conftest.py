"""Lab tests: the `lab` marker (registered in pyproject.toml) means root is needed; not root, they are skipped."""
import os

import pytest

NOT_ROOT = "lab tests need root: they create network namespaces, veths and mounts (run the suite as root)"
# For modules that say it themselves (tests.lab.fuel's import it); the `lab` marker alone does the same.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason=NOT_ROOT)


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    for item in items:
        if item.get_closest_marker("lab") is not None:
            item.add_marker(pytest.mark.skip(reason=NOT_ROOT))
