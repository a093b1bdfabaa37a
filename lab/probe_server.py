"""A tiny HTTP server the lab runs on a node's network: it answers every GET with who asked (JSON).

`verify` curls it from Dom0: the client address it reports shows which way the request came (through the
compute VM's NAT, the client is the compute VM's address on that network). Stdlib only; runs in a lab host.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = json.dumps({"client": self.client_address[0], "server": self.server.server_address[0],
                           "label": self.server.label}).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server API
        sys.stderr.write(f"{self.client_address[0]} {format % args}\n")


def main(argv: list[str]) -> None:
    address, port, label = argv[0], int(argv[1]), argv[2] if len(argv) > 2 else ""
    server = ThreadingHTTPServer((address, port), Handler)
    server.label = label  # type: ignore[attr-defined]
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
