"""Node unit tests: import the node package from node/ and find the shared Fuel fixtures."""
import os
import sys

NODE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if NODE_DIR not in sys.path:
    sys.path.insert(0, NODE_DIR)

# The shared fixtures live next to the repository clone (../shared), as on CI; override with the env var.
FIXTURES_DIR = os.environ.get(
    "XENSERVER_PLUGIN_FIXTURES",
    os.path.join(os.path.dirname(os.path.dirname(NODE_DIR)), "shared", "fixtures", "fuel9"))
