"""Node unit tests: import the node package from node/ and find the shared Fuel fixtures."""
import os
import sys

import pytest

NODE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if NODE_DIR not in sys.path:
    sys.path.insert(0, NODE_DIR)

# The shared fixtures live next to the repository clone (../shared), as on CI; override with the env var.
FIXTURES_DIR = os.environ.get(
    "XENSERVER_PLUGIN_FIXTURES",
    os.path.join(os.path.dirname(os.path.dirname(NODE_DIR)), "shared", "fixtures", "fuel9"))


def fixture_path(*parts):
    """Path of a shared Fuel 9 fixture, e.g. fixture_path("nailgun", "xs-ha", "compute-node12.yaml")."""
    return os.path.join(FIXTURES_DIR, *parts)


def all_fixtures():
    """(relative name, path) of every astute.yaml fixture, sorted."""
    found = []
    for group in ("noop", os.path.join("nailgun", "xs-ha")):
        directory = os.path.join(FIXTURES_DIR, group)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".yaml"):
                found.append((os.path.join(group, name), os.path.join(directory, name)))
    return found


# Paths of the machine running the tests that node code writes on a real node: a test must never touch them.
GUARDED_PATHS = ("/etc/network/interfaces", "/etc/network/interfaces.d", "/etc/dhcp/dhclient-enter-hooks.d",
                 "/root/.ssh")


def _snapshot():
    state = {}
    for path in GUARDED_PATHS:
        if os.path.isdir(path):
            state[path] = sorted(os.listdir(path))
        elif os.path.exists(path):
            with open(path, "rb") as stream:
                state[path] = stream.read()
        else:
            state[path] = None
    return state


@pytest.fixture(autouse=True)
def host_files_untouched():
    """Fail the test that changed the test machine's own network or SSH configuration."""
    before = _snapshot()
    yield
    after = _snapshot()
    changed = [path for path in GUARDED_PATHS if before[path] != after[path]]
    assert not changed, "the test changed the machine's own %s" % ", ".join(changed)
