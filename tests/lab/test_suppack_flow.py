"""The node's pack step against the lab XenServer, with the built ISOs and the real os-xenapi plugins.

The XenAPI server runs in-process on loopback; `xe` and `xe-install-supplemental-pack` are the lab's, run as
subprocesses; Dom0's file system is a directory (absolute paths in Dom0 commands are re-rooted into it). The node
code (node/xenserver_plugin/suppack.py) talks to it through a C3-shaped adapter: host.call_plugin then runs the
installed dom0_plugin_version.py under Python 2.7, as XenServer runs it.
"""
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import XenAPI

from builder import dom0_plugins, suppack
from lab.xenserver.api import local_session_path
from lab.xenserver.config import HostConfig
from lab.xenserver.server import build_server
from tests.paths import PY27, REPO

sys.path.insert(0, str(REPO / "node"))
from xenserver_plugin import steps, system  # noqa: E402 - node code lives in node/
from xenserver_plugin import suppack as node_suppack  # noqa: E402
from xenserver_plugin.errors import OperatorError  # noqa: E402

PASSWORD = "lab-pack-pw-51c3"
PLATFORMS = {"7.0.0": (2, 1, 0), "7.1.0": (2, 2, 0)}


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory) -> Path:
    """The pack as the plugin ships it: deployment_scripts/suppack/ of fuel-plugin-xenserver-4.0."""
    out = tmp_path_factory.mktemp("scripts") / "fuel-plugin-xenserver-4.0" / "suppack"
    suppack.build(dom0_plugins.from_pypi(), out, workdir=tmp_path_factory.mktemp("work"))
    return out


class LabDom0:
    """C3's Dom0 over the lab XenServer: commands run locally with Dom0's paths re-rooted into `root`."""

    def __init__(self, url: str, root: Path, state_dir: Path, product_version: str):
        self.root = root
        self.platform_version = PLATFORMS[product_version]
        self.xenapi = XenAPI.Session(url)
        self.xenapi.login_with_password("root", PASSWORD, "2.1", "test")
        self.host_ref = self.xenapi.xenapi.session.get_this_host(self.xenapi.handle)
        self.env = dict(os.environ, LAB_XENAPI_URL=url, LAB_DOM0_ROOT=str(root), PYTHONPATH=str(REPO),
                        LAB_XE_SESSION_FILE=str(local_session_path(state_dir / "state.json")))
        self.commands: list[list[str]] = []

    def inside(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def reroot(self, arg: str) -> str:
        if arg.startswith("/"):
            return str(self.inside(arg))
        if arg.startswith("file-name=/"):
            return "file-name=" + str(self.inside(arg[len("file-name="):]))
        return arg

    def ssh(self, argv, input_text=None, check=True):
        self.commands.append(list(argv))
        argv = [self.reroot(arg) for arg in argv]
        if argv[0] == "mktemp":
            self.inside("/tmp").mkdir(exist_ok=True)
        elif argv[0] == "xe-install-supplemental-pack":
            argv = [sys.executable, "-m", "lab.xenserver.xe", "install-supplemental-pack", *argv[1:]]
        elif argv[0] == "xe":
            argv = [sys.executable, "-m", "lab.xenserver.xe", *argv[1:]]
        result = subprocess.run(argv, input=input_text, capture_output=True, text=True, env=self.env, cwd=REPO,
                                check=False)
        out = result.stdout.replace(str(self.root), "") if argv[0] == "mktemp" else result.stdout
        if check and result.returncode != 0:
            raise RuntimeError(f"{argv} exited {result.returncode}: {result.stderr}")
        return system.CommandResult(argv, result.returncode, out, result.stderr)

    def copy_to(self, local_path, remote_path):
        shutil.copyfile(local_path, self.inside(remote_path))

    def close(self):
        self.xenapi.xenapi.session.logout()


@pytest.fixture
def lab_host(tmp_path):
    servers = []

    def start(product_version: str) -> LabDom0:
        root = tmp_path / "dom0"
        (root / "etc" / "xapi.d" / "plugins").mkdir(parents=True)
        state_dir = tmp_path / "state"
        state_dir.mkdir()
        config = HostConfig.default("xs-pack", product_version, password=PASSWORD,
                                    compute_vm_vifs=[("0", "52:54:00:aa:00:01", "xenapi")])
        server = build_server(config, state_dir / "state.json", ("127.0.0.1", 0), str(PY27),
                              root / "etc" / "xapi.d" / "plugins", root)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return LabDom0(f"http://127.0.0.1:{server.server_address[1]}/", root, state_dir, product_version)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run_step(dom0, pack, install_xapi=True, dry_run=False):
    run = steps.Run(dry_run=dry_run, out=open(os.devnull, "w"))
    node_suppack.ensure(run, dom0, install_xapi, pack)
    return run.changes


def plugin_version(dom0) -> str:
    reply = dom0.xenapi.xenapi.host.call_plugin(dom0.host_ref, "dom0_plugin_version.py", "get_version",
                                                {"params": node_suppack.pickled({"args": (), "kwargs": {}})})
    return node_suppack.unpickled(reply)


@pytest.mark.parametrize(("product_version", "command", "changes"), [
    ("7.0.0", "xe-install-supplemental-pack", 1), ("7.1.0", "xe", 2)])
def test_install_then_nothing(lab_host, pack_dir, product_version, command, changes):
    dom0 = lab_host(product_version)
    pack = node_suppack.Pack.load(str(pack_dir))
    assert run_step(dom0, pack, dry_run=True) and not any(c[0].startswith("xe") for c in dom0.commands)
    assert len(run_step(dom0, pack)) == changes
    assert [c[0] for c in dom0.commands if c[0].startswith("xe")] == [command]
    assert plugin_version(dom0) == "2.1"
    plugins = dom0.inside("/etc/xapi.d/plugins")
    assert all(os.access(plugins / name, os.X_OK) for name in pack.plugins)
    assert list(dom0.inside("/tmp").iterdir()) == []  # the ISO copy was removed
    software = dom0.xenapi.xenapi.host.get_software_version(dom0.host_ref)
    assert "plugin version 2.1" in software["openstack:xenapi-plugins"]
    dom0.commands.clear()
    assert run_step(dom0, pack) == []
    assert not any(c[0].startswith("xe") for c in dom0.commands)


def test_update_uploaded_by_hand_is_applied(lab_host, pack_dir):
    dom0 = lab_host("7.1.0")
    pack = node_suppack.Pack.load(str(pack_dir))
    iso = dom0.inside("/root/pack.iso")
    iso.parent.mkdir()
    shutil.copyfile(pack_dir / pack.update_iso, iso)
    assert dom0.ssh(["xe", "update-upload", "file-name=/root/pack.iso"]).out.strip() == pack.update_uuid
    again = dom0.ssh(["xe", "update-upload", "file-name=/root/pack.iso"], check=False)
    assert again.returncode != 0 and pack.update_uuid in again.out + again.err  # XenServer's "already exists"
    assert run_step(dom0, pack) == ["update xenapi-plugins 2.1 applied on this host"]
    assert plugin_version(dom0) == "2.1"


def test_update_iso_refused_on_70(lab_host, pack_dir):
    dom0 = lab_host("7.0.0")
    pack = node_suppack.Pack.load(str(pack_dir))
    dom0.inside("/tmp").mkdir()
    shutil.copyfile(pack_dir / pack.update_iso, dom0.inside("/tmp/u.iso"))
    refused = dom0.ssh(["xe-install-supplemental-pack", "/tmp/u.iso"], check=False)
    assert refused.returncode != 0 and "not a supplemental pack" in refused.out + refused.err
    assert not any(dom0.inside("/etc/xapi.d/plugins").iterdir())
    refused = dom0.ssh(["xe", "update-upload", "file-name=/tmp/u.iso"], check=False)
    assert refused.returncode != 0  # no updates before 7.1


def test_untick_without_plugins_fails(lab_host, pack_dir):
    dom0 = lab_host("7.0.0")
    pack = node_suppack.Pack.load(str(pack_dir))
    with pytest.raises(OperatorError) as failure:
        run_step(dom0, pack, install_xapi=False)
    assert "Install Nova Plugins" in str(failure.value)
    assert "cannot be called (XENAPI_MISSING_PLUGIN dom0_plugin_version.py)" in str(failure.value)
    assert not any(c[0].startswith("xe") for c in dom0.commands)


def mitaka_like_tree(root: Path) -> Path:
    """Nova Mitaka's layout (suffix-less entry points, nova_plugin_version at 1.3) from os-xenapi's files."""
    plugins = dom0_plugins.from_pypi().files
    nova = root / "nova" / "plugins" / "xenserver" / "xenapi" / "etc" / "xapi.d" / "plugins"
    neutron = root / "neutron" / "agent" / "xenapi" / "etc" / "xapi.d" / "plugins"
    nova.mkdir(parents=True)
    neutron.mkdir(parents=True)
    (nova / "utils.py").write_bytes(plugins["utils.py"])
    (nova / "nova_plugin_version").write_bytes(
        plugins["dom0_plugin_version.py"].replace(b'PLUGIN_VERSION = "2.1"', b'PLUGIN_VERSION = "1.3"'))
    (neutron / "netwrap").write_bytes(plugins["netwrap.py"])
    return root


def test_mitaka_pack_from_source_tree(lab_host, tmp_path, monkeypatch):
    monkeypatch.setenv("DOM0_PLUGINS_SRC", str(mitaka_like_tree(tmp_path / "src")))
    out = tmp_path / "fuel-plugin-xenserver-4.0" / "suppack"
    metadata = suppack.build(dom0_plugins.load(), out, workdir=tmp_path / "work")
    assert (metadata["version"], metadata["version_plugin"]) == ("1.3", "nova_plugin_version")
    dom0 = lab_host("7.0.0")
    pack = node_suppack.Pack.load(str(out))
    assert len(run_step(dom0, pack)) == 1
    assert run_step(dom0, pack) == []
    reply = dom0.xenapi.xenapi.host.call_plugin(dom0.host_ref, "nova_plugin_version", "get_version",
                                                {"params": node_suppack.pickled({"args": (), "kwargs": {}})})
    assert node_suppack.unpickled(reply) == "1.3"
