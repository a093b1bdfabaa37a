"""The XenAPI server of a lab Dom0: XML-RPC over HTTP, as xapi serves it on port 80.

    python -m lab.xenserver.server --config host.json --state state.json --listen 0.0.0.0:80 \
        --dom0-python /path/to/python2.7 --plugins-dir /etc/xapi.d/plugins

Besides XML-RPC (POST on any path) it takes `PUT /import_raw_vdi?session_id=..&vdi=..`, the way `xe
update-upload` sends an update ISO. It writes a session for Dom0-local tools (xe) to `<state dir>/local-session`
(mode 0600), standing in for the Unix socket that lets root in Dom0 use xe without a password.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import signal
import socketserver
import sys
import threading
import xmlrpc.server
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlparse

from lab.xenserver.api import LOCAL_SESSION_MARK, ServerSettings, XenAPIService, local_session_path
from lab.xenserver.calllog import CALL_LOG_NAME
from lab.xenserver.config import HostConfig
from lab.xenserver.state import State

LOG = logging.getLogger("lab.xenserver")


class _Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    rpc_paths = ()  # xapi answers XML-RPC on any path ('/', '/RPC2', ...)
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """The welcome page XenServer serves on port 80 (what a browser or curl sees)."""
        service: XenAPIService = self.server.service  # type: ignore[attr-defined]
        version = service.state.host["software_version"]
        title = f"{version['product_brand']} {version['product_version_text']}"
        body = (f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
                f"<p>{html.escape(service.config.hostname)}</p></body></html>\n").encode()
        if urlparse(self.path).path not in ("/", "/index.html"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        service: XenAPIService = self.server.service  # type: ignore[attr-defined]
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        if url.path != "/import_raw_vdi":
            self.send_error(404)
            return
        status = service.import_raw_vdi(query.get("session_id", ""), query.get("vdi", ""), data)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class XenAPIServer(socketserver.ThreadingMixIn, xmlrpc.server.SimpleXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: XenAPIService) -> None:
        super().__init__(address, requestHandler=_Handler, logRequests=False, allow_none=True, use_builtin_types=False)
        self.service = service

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> Any:
        return self.service.call(method, params)


def write_local_session(service: XenAPIService, state_path: Path) -> None:
    existing = [
        ref for ref, rec in service.state.records("session").items()
        if rec["other_config"].get(LOCAL_SESSION_MARK) == "true"
    ]
    ref = existing[0] if existing else service.new_session(originator="xe", local=True)
    path = local_session_path(state_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(ref + "\n")


def build_server(
    config: HostConfig, state_path: Path, listen: tuple[str, int], dom0_python: str, plugins_dir: Path,
    dom0_root: Path = Path("/"),
) -> XenAPIServer:
    state = State.load_or_build(state_path, config)
    if "/" in dom0_python:
        dom0_python = os.path.abspath(dom0_python)
    settings = ServerSettings(
        plugins_dir=plugins_dir, dom0_python=dom0_python, state_path=state_path,
        call_log=state_path.parent / CALL_LOG_NAME, dom0_root=dom0_root,
    )
    service = XenAPIService(config, state, settings)
    server = XenAPIServer(listen, service)
    port = server.server_address[1]
    settings.xapi_url = f"http://127.0.0.1:{port}/"
    service.save()
    write_local_session(service, state_path)
    return server


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "0.0.0.0", int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="HostConfig JSON (lab/xenserver/config.py)")
    parser.add_argument("--state", type=Path, required=True, help="state JSON; kept across restarts")
    parser.add_argument("--listen", type=parse_listen, default=("0.0.0.0", 80), help="address:port")
    parser.add_argument("--dom0-python", default="python2.7", help="Dom0's Python, which runs the plugins")
    parser.add_argument("--plugins-dir", type=Path, default=Path("/etc/xapi.d/plugins"))
    parser.add_argument("--dom0-root", type=Path, default=Path("/"), help="Dom0's file system root (packs)")
    parser.add_argument("--ready-file", type=Path, help="written with the port once the server listens")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = HostConfig.from_json(args.config.read_text())
    args.state.parent.mkdir(parents=True, exist_ok=True)
    server = build_server(config, args.state, args.listen, args.dom0_python, args.plugins_dir, args.dom0_root)
    port = server.server_address[1]
    LOG.info("XenServer %s (%s) XenAPI listening on %s:%d", config.product_version, config.hostname,
             args.listen[0], port)
    if args.ready_file:
        args.ready_file.write_text(f"{port}\n")

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
