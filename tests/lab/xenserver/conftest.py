"""A lab XenServer on loopback (random port), in-process or as `python -m lab.xenserver.server`."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import XenAPI

from builder import dom0_plugins, wheels
from lab.xenserver.config import HostConfig
from lab.xenserver.server import XenAPIServer, build_server
from lab.xenserver.xe import main as xe_main
from tests.paths import PY27, REPO

PASSWORD = "lab-XS-pw-9d1e"
# the pinned os-xenapi wheel, if the supplemental-pack build has downloaded it
OS_XENAPI_WHEELS = wheels.cached(dom0_plugins.REQUIREMENTS)
NOVA_PLUGINS = ["dom0_plugin_version.py", "xenhost.py", "netwrap.py", "utils.py", "dom0_pluginlib.py"]
COMPUTE_VIFS = [("0", "52:54:00:aa:00:01", "xenbr0"), ("1", "52:54:00:aa:00:02", "xenbr1"),
                ("2", "52:54:00:aa:00:03", "xenapi")]
TEST_PLUGIN = '''#!/usr/bin/env python
import json
import XenAPIPlugin


def echo(session, args):
    return json.dumps(args, sort_keys=True)


def dom0(session, args):
    host = session.xenapi.session.get_this_host(session.handle)
    expr = 'field "is_control_domain" = "true" and field "resident_on" = "%s"' % host
    return list(session.xenapi.VM.get_all_records_where(expr).values())[0]["name_label"]


def fail(session, args):
    raise XenAPIPlugin.Failure("LAB_TEST_FAILURE", ["one", "two"])


def crash(session, args):
    raise ValueError("plugin bug")


if __name__ == "__main__":
    XenAPIPlugin.dispatch({"echo": echo, "dom0": dom0, "fail": fail, "crash": crash})
'''


@dataclass
class LabXenServer:
    config: HostConfig
    url: str
    root: Path  # state dir, plugins dir, Dom0 root and the xe wrapper live below it
    server: XenAPIServer | None = None

    @property
    def state_path(self) -> Path:
        return self.root / "state" / "state.json"

    @property
    def call_log(self) -> Path:
        return self.root / "state" / "calls.log"

    @property
    def plugins_dir(self) -> Path:
        return self.root / "dom0" / "etc" / "xapi.d" / "plugins"

    def session(self, password: str = PASSWORD) -> XenAPI.Session:
        session = XenAPI.Session(self.url)
        session.login_with_password("root", password, "2.1", "lab-tests")
        return session

    def xe_env(self) -> dict[str, str]:
        return {"LAB_XENAPI_URL": self.url, "LAB_XE_SESSION_FILE": str(self.root / "state" / "local-session"),
                "LAB_DOM0_ROOT": str(self.root / "dom0")}

    def xe(self, *args: str, check: bool = True, process: bool = False) -> subprocess.CompletedProcess[str]:
        """Run xe in-process (fast), or as `python -m lab.xenserver.xe` when `process` is set."""
        if process:
            env = {**os.environ, **self.xe_env(), "PYTHONPATH": str(REPO)}
            result = subprocess.run([sys.executable, "-m", "lab.xenserver.xe", *args], env=env, text=True,
                                    capture_output=True, check=False, cwd=REPO)
        else:
            out, err = io.StringIO(), io.StringIO()
            saved = {key: os.environ.get(key) for key in self.xe_env()}
            os.environ.update(self.xe_env())
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = xe_main(list(args))
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            result = subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
        if check and result.returncode != 0:
            raise AssertionError(f"xe {' '.join(args)} failed: {result.stderr}")
        return result


def make_config(version: str = "7.0.0", **kwargs) -> HostConfig:
    return HostConfig.default("xs-lab", version, password=PASSWORD, compute_vm_vifs=COMPUTE_VIFS, **kwargs)


def prepare_root(root: Path) -> None:
    """Plugins dir with the test plugin, and an `xe` on PATH for plugins that run xe (xenhost.py does)."""
    plugins = root / "dom0" / "etc" / "xapi.d" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    plugin = plugins / "lab_test.py"
    plugin.write_text(TEST_PLUGIN)
    plugin.chmod(0o755)
    bindir = root / "bin"
    bindir.mkdir(exist_ok=True)
    xe = bindir / "xe"
    xe.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m lab.xenserver.xe "$@"\n')
    xe.chmod(0o755)


@pytest.fixture
def start_xs(tmp_path, monkeypatch):
    """Factory: an in-process server (thread) for a host config; stopped at teardown."""
    servers: list[XenAPIServer] = []

    def start(config: HostConfig | None = None, name: str = "xs") -> LabXenServer:
        root = tmp_path / name
        prepare_root(root)
        config = config or make_config()
        lab = LabXenServer(config, "", root)
        lab.state_path.parent.mkdir(parents=True, exist_ok=True)
        server = build_server(config, lab.state_path, ("127.0.0.1", 0), str(PY27), lab.plugins_dir, root / "dom0")
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        lab.server = server
        lab.url = f"http://127.0.0.1:{server.server_address[1]}/"
        # plugins' `xe` comes from this PATH
        monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
        return lab

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def xs(start_xs) -> LabXenServer:
    return start_xs()


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout}s")


@pytest.fixture
def nova_plugins(xs):
    """os-xenapi's Dom0 plugins (from the wheel the pack build downloads) in the host's plugins dir."""
    if not OS_XENAPI_WHEELS:
        pytest.skip("no os-xenapi wheel in .work/downloads (the supplemental-pack build downloads it)")
    plugins = dom0_plugins.from_pypi().files  # the cached wheel, its hash checked: nothing is downloaded
    for name in NOVA_PLUGINS:
        target = xs.plugins_dir / name
        target.write_bytes(plugins[name])
        target.chmod(0o755)
    return xs
