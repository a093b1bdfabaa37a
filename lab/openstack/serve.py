"""Serve one OpenStack service's WSGI application with a threaded stdlib server (no compiled server needed).

    python -m lab.openstack.serve keystone ADDRESS:PORT [ADDRESS:PORT ...]   (OS_KEYSTONE_CONFIG_FILES set)
    python -m lab.openstack.serve glance ADDRESS:PORT                        (OS_GLANCE_CONFIG_DIR set)

Run inside a lab host with the OpenStack venv's Python. Keystone answers on 5000 and 35357 (Fuel's public
and admin ports) from one process; requests are logged to stderr. With OS_BOOTSTRAP_PASSWORD set, Keystone
first does what `keystone-manage bootstrap` does, from the same OS_BOOTSTRAP_* variables, in this process
(one interpreter start instead of two: the lab's services start in seconds).
"""
from __future__ import annotations

import os
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


BOOTSTRAP = {"admin_username": "USERNAME", "admin_password": "PASSWORD", "project_name": "PROJECT_NAME",
             "admin_role_name": "ROLE_NAME", "service_name": "SERVICE_NAME", "region_id": "REGION_ID",
             "admin_url": "ADMIN_URL", "public_url": "PUBLIC_URL", "internal_url": "INTERNAL_URL"}


def bootstrap_keystone() -> None:
    """keystone-manage bootstrap's work (idempotent), its parameters taken out of the environment."""
    from unittest import mock

    from keystone.cmd.bootstrap import Bootstrapper
    from keystone.server import backends

    # the application has loaded the backends (and locked their registry); loading them again would fail
    with mock.patch.object(backends, "load_backends"):
        bootstrapper = Bootstrapper()
    for attribute, variable in BOOTSTRAP.items():
        setattr(bootstrapper, attribute, os.environ.pop(f"OS_BOOTSTRAP_{variable}", None))
    bootstrapper.immutable_roles = True  # as keystone-manage bootstrap does by default
    bootstrapper.bootstrap()
    print("keystone bootstrapped", file=sys.stderr, flush=True)


def application(service: str):
    if service == "keystone":
        from keystone.server.wsgi import initialize_public_application

        app = initialize_public_application()
        if os.environ.get("OS_BOOTSTRAP_PASSWORD"):
            bootstrap_keystone()
        return app
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
