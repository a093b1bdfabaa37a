"""The built supplemental pack ISOs through the lab's xe: legacy install on 7.0, update upload/apply on 7.1,
then host.call_plugin runs the installed version plugin (skipped until the pack build has run)."""

import os
import pickle
import shutil

import pytest

from tests.paths import WORK

from .conftest import make_config

SUPPACK = WORK / "artifacts" / "plugin" / "deployment_scripts" / "suppack"
LEGACY_ISOS = sorted(SUPPACK.glob("*-suppack.iso"))
UPDATE_ISOS = sorted(SUPPACK.glob("*-update.iso"))

pytestmark = pytest.mark.skipif(
    not (LEGACY_ISOS and UPDATE_ISOS) or not all(shutil.which(t) for t in ("osirrox", "rpm2cpio", "cpio")),
    reason="no built pack ISOs in .work/artifacts (make builds them) or no osirrox/rpm2cpio/cpio")


def plugin_version(xs):
    session = xs.session()
    host = session.xenapi.session.get_this_host(session.handle)
    params = {"params": pickle.dumps({"args": (), "kwargs": {}}, 0).decode()}
    return pickle.loads(session.xenapi.host.call_plugin(host, "dom0_plugin_version.py", "get_version",
                                                        params).encode())


def installed_plugins(xs):
    return sorted(p.name for p in xs.plugins_dir.iterdir() if os.access(p, os.X_OK) and p.name != "lab_test.py")


def test_legacy_pack_on_70(start_xs):
    from lab.xenserver.packs import read_pack

    pack = read_pack(LEGACY_ISOS[-1])
    xs = start_xs(make_config("7.0.0"))
    out = xs.xe("install-supplemental-pack", str(LEGACY_ISOS[-1])).stdout
    assert out.endswith("Pack installation successful.\n")
    assert plugin_version(xs) == pack.version
    assert {"dom0_plugin_version.py", "netwrap.py", "xenhost.py"} <= set(installed_plugins(xs))
    key = f"{pack.originator}:{pack.name}"
    software = xs.xe("host-param-get", f"uuid={xs.config.uuid}", "param-name=software-version",
                     f"param-key={key}").stdout
    assert f"version {pack.version}" in software
    wrong = xs.xe("update-upload", f"file-name={UPDATE_ISOS[-1]}", check=False)
    assert (wrong.returncode, wrong.stderr) == (1, "Unknown command: update-upload\n")


def test_update_on_71(start_xs):
    from lab.xenserver.packs import read_pack

    pack = read_pack(UPDATE_ISOS[-1])
    xs = start_xs(make_config("7.1.0"))
    uuid = xs.xe("update-upload", f"file-name={UPDATE_ISOS[-1]}").stdout.strip()
    assert uuid == pack.uuid
    again = xs.xe("update-upload", f"file-name={UPDATE_ISOS[-1]}", check=False)
    assert (again.returncode, again.stderr) == (1, f"The uploaded update already exists\nuuid: {uuid}\n")
    xs.xe("update-apply", f"uuid={uuid}", f"host-uuid={xs.config.uuid}")
    assert plugin_version(xs) == pack.version
    assert xs.xe("update-list", f"uuid={uuid}", "params=hosts", "--minimal").stdout.strip() == xs.config.uuid
    applied = xs.xe("update-apply", f"uuid={uuid}", f"host-uuid={xs.config.uuid}", check=False)
    assert applied.returncode == 1 and applied.stderr.startswith("This update has already been applied.")


def test_a_legacy_pack_is_not_an_update(start_xs):
    xs = start_xs(make_config("7.1.0"))
    refused = xs.xe("update-upload", f"file-name={LEGACY_ISOS[-1]}", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("The uploaded update package is invalid.")
    assert xs.xe("update-list", "--minimal").stdout == "\n" and not installed_plugins(xs)
