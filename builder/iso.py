"""Reproducible ISO 9660 images (Rock Ridge + Joliet) with xorriso: same tree and epoch, same bytes."""
import os
import subprocess
from pathlib import Path


class IsoError(Exception):
    pass


def make_iso(tree: Path, out: Path, volume_id: str, epoch: int, publisher: str = "") -> Path:
    """Pack tree into out. SOURCE_DATE_EPOCH makes xorriso use epoch for every date and the volume uuid;
    owners and modes are normalised so the image does not depend on who built it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    argv = ["xorriso", "-no_rc", "-report_about", "SORRY",
            "-outdev", str(out),
            "-volid", volume_id[:32],
            "-publisher", publisher,
            "-joliet", "on", "-rockridge", "on",
            "-map", str(tree), "/",
            "-chown_r", "0", "/", "--",
            "-chgrp_r", "0", "/", "--",
            "-chmod_r", "u+rw,go-w,a+r", "/", "--",
            "-commit"]
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise IsoError(f"xorriso could not write {out}: {result.stderr.strip()}")
    os.utime(out, (epoch, epoch))
    return out
