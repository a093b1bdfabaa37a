"""`openstack image show NAME` as JSON, from Glance's API: run inside a lab host (credentials: /root/openrc).

    python -m lab.openstack.images [NAME | --all] [--openrc PATH]
prints {"glance": <internal image endpoint>, "images": [<every image record named NAME>]} (--all: every
image, whatever its name or status); exit 1 with the
API's error on stderr when Keystone or Glance does not answer.
"""
from __future__ import annotations

import argparse
import json
import sys

from lab.openstack.api import ApiError, Session, images_named


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.openstack.images")
    parser.add_argument("name", nargs="?", default="TestVM")
    parser.add_argument("--all", action="store_true", help="every image (up to 1000)")
    parser.add_argument("--openrc", default="/root/openrc")
    args = parser.parse_args(argv)
    try:
        session = Session.from_openrc(args.openrc)
        glance = session.endpoint("image")
        images = (session.call("GET", f"{glance}/v2/images?limit=1000")["images"] if args.all
                  else images_named(session, args.name))
        print(json.dumps({"glance": glance, "images": images}))
    except (ApiError, OSError, KeyError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
