"""`openstack image show NAME` as JSON, from Glance's API: run inside a lab host (credentials: /root/openrc).

    python -m lab.openstack.images [NAME] [--openrc PATH]
prints {"glance": <internal image endpoint>, "images": [<every image record named NAME>]}; exit 1 with the
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
    parser.add_argument("--openrc", default="/root/openrc")
    args = parser.parse_args(argv)
    try:
        session = Session.from_openrc(args.openrc)
        print(json.dumps({"glance": session.endpoint("image"), "images": images_named(session, args.name)}))
    except (ApiError, OSError, KeyError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
