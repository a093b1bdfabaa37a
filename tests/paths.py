"""Where the tests find the repo, its build products, the venvs and the read-only shared material."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".work"
OUTPUT = REPO / "output"
STAGE = WORK / "build" / "fuel-plugin-xenserver"
PY27 = WORK / "venv-node27" / "bin" / "python"
PY3 = WORK / "venv" / "bin" / "python"
FPB = WORK / "venv-fpb" / "bin" / "fpb"
# shared/ sits beside the clone (the developers' /work/shared, CI's copy); FUEL_XS_SHARED overrides.
SHARED = Path(os.environ.get("FUEL_XS_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference"
FIXTURES = SHARED / "fixtures" / "fuel9"
