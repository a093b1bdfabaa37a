"""Serve one OpenStack service's WSGI application with a threaded stdlib server (no compiled server needed).

    python -m lab.openstack.serve keystone ADDRESS:PORT [ADDRESS:PORT ...]   (OS_KEYSTONE_CONFIG_FILES set)
    python -m lab.openstack.serve glance ADDRESS:PORT                        (OS_GLANCE_CONFIG_DIR set)

Run inside a lab host with the OpenStack venv's Python. Keystone answers on 5000 and 35357 (Fuel's public
and admin ports) from one process; requests are logged to stderr.
"""
from __future__ import annotations

import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(WSGIRequestHandler):
    def address_string(self) -> str:  # no reverse DNS per request
        return str(self.client_address[0])


def application(service: str):
    if service == "keystone":
        from keystone.server.wsgi import initialize_public_application

        return initialize_public_application()
    if service == "glance":
        from glance.wsgi.api import application as glance_app

        return glance_app
    raise SystemExit(f"unknown service {service!r}")


def main(argv: list[str]) -> None:
    service, listens = argv[0], argv[1:]
    sys.argv[1:] = []  # the services parse the command line as their own options
    app = application(service)
    servers = []
    for listen in listens:
        address, _, port = listen.rpartition(":")
        servers.append(make_server(address, int(port), app, server_class=ThreadedServer, handler_class=Handler))
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{service} listening on {', '.join(listens)}", file=sys.stderr, flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
