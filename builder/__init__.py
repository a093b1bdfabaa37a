"""Build tooling: turns plugin/ and node/ into the Fuel plugin RPM (Python 3.11)."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "fuel-plugin-xenserver"
