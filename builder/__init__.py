"""Build tooling: turns plugin/ and node/ into the Fuel plugin RPM (Python 3.11)."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "fuel-plugin-xenserver"


def source_date_epoch(default: int) -> int:
    """SOURCE_DATE_EPOCH when set (and not empty), else the caller's fixed default: dates never depend on the clock."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return int(value) if value else default
