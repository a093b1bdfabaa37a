"""Run a Dom0 plugin the way xapi does for `host.call_plugin`.

xapi executes /etc/xapi.d/plugins/<plugin> with one argument: an XML-RPC methodCall whose method name is the
plugin function and whose params are (session ref, args string map). The plugin prints an XML-RPC methodResponse
holding {'Status': 'Success', 'Value': str} or {'Status': 'Failure', 'ErrorDescription': [...]}.
"""

from __future__ import annotations

import os
import subprocess
import xmlrpc.client
from pathlib import Path

DOM0LIB = Path(__file__).resolve().parent / "dom0lib"


class PluginCallError(Exception):
    def __init__(self, details: list[str]) -> None:
        super().__init__(details)
        self.details = details


def run_plugin(
    plugins_dir: Path,
    dom0_python: str,
    plugin: str,
    fn: str,
    session_ref: str,
    args: dict[str, str],
    xapi_url: str,
    local_session_file: Path | None = None,
    timeout: float = 300.0,
) -> str:
    path = plugins_dir / plugin
    if "/" in plugin or not path.is_file() or not os.access(path, os.X_OK):
        raise PluginCallError(["XENAPI_MISSING_PLUGIN", plugin])
    call = xmlrpc.client.dumps((session_ref, args), fn, allow_none=False)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(DOM0LIB), str(plugins_dir)])
    env["LAB_XENAPI_URL"] = xapi_url  # read by dom0lib's XenAPI.xapi_local() and by the lab's xe
    if local_session_file is not None:
        env["LAB_XE_SESSION_FILE"] = str(local_session_file)
    env.pop("PYTHONHOME", None)
    try:
        proc = subprocess.run(
            [dom0_python, str(path), call], capture_output=True, text=True, env=env, timeout=timeout,
            cwd="/", check=False,
        )
    except subprocess.TimeoutExpired:
        raise PluginCallError(["XENAPI_PLUGIN_FAILURE", "timeout", "", ""]) from None
    if proc.returncode != 0:
        raise PluginCallError(["XENAPI_PLUGIN_FAILURE", "non-zero exit", proc.stdout, proc.stderr])
    # Like xapi, read the first methodResponse document; plugins that dispatch twice print a second one.
    end = proc.stdout.find("</methodResponse>")
    first = proc.stdout[: end + len("</methodResponse>")] if end >= 0 else proc.stdout
    try:
        (response,), _ = xmlrpc.client.loads(first)
    except Exception:  # noqa: BLE001 - any unparsable output is the plugin's failure, as in xapi
        raise PluginCallError(["XENAPI_PLUGIN_FAILURE", "failed to parse output", proc.stdout, proc.stderr]) from None
    if not isinstance(response, dict) or response.get("Status") not in ("Success", "Failure"):
        raise PluginCallError(["XENAPI_PLUGIN_FAILURE", "bad response", proc.stdout, proc.stderr])
    if response["Status"] == "Failure":
        raise PluginCallError([str(d) for d in response.get("ErrorDescription", [])])
    value = response.get("Value", "")
    return value if isinstance(value, str) else str(value)
