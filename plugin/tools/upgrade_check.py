#!/usr/bin/env python
"""Tell whether this installed XenServer plugin supports a Fuel version (default: this master's).

Run it on the Fuel master before upgrading it:
    python /var/www/nailgun/plugins/fuel-plugin-xenserver-4.0/tools/upgrade_check.py [--fuel-version 9.2]
Exit 0: supported. Exit 1: a newer plugin is needed first. Exit 2: the versions cannot be read.
Runs on the master's Python 2.7 and on Python 3; needs PyYAML only.
"""
import argparse
import os
import re
import sys

import yaml

PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MASTER_RELEASE_FILES = ("/etc/fuel_release", "/etc/fuel/version.yaml")


class VersionUnknownError(Exception):
    pass


def release_of(version):
    """'9.1.2' -> '9.1': Fuel's plugin compatibility is by release (major.minor)."""
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version))
    if not match:
        raise VersionUnknownError("%r is not a Fuel version such as 9.0" % (version,))
    return "%s.%s" % match.groups()


def master_version(paths=MASTER_RELEASE_FILES):
    """The Fuel master's release, from /etc/fuel_release or /etc/fuel/version.yaml (VERSION: release)."""
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path) as stream:
            text = stream.read()
        if path.endswith(".yaml"):
            data = yaml.safe_load(text) or {}
            text = str(data.get("VERSION", {}).get("release", ""))
        return release_of(text.strip())
    raise VersionUnknownError("no %s on this machine: is it a Fuel master? Pass --fuel-version."
                         % " or ".join(paths))


def check(metadata, fuel_version):
    """(supported, message) for the plugin described by `metadata` on Fuel `fuel_version`."""
    release = release_of(fuel_version)
    supported = [release_of(v) for v in metadata["fuel_version"]]
    name = "%s %s" % (metadata["name"], metadata["version"])
    if release in supported:
        return True, "%s supports Fuel %s: the upgrade can proceed." % (name, release)
    return False, ("%s does not support Fuel %s (it supports Fuel %s). Install a %s release that supports "
                   "Fuel %s before upgrading the Fuel master, or environments using XenServer cannot be "
                   "managed after the upgrade." % (name, release, ", ".join(supported), metadata["name"], release))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuel-version", help="the Fuel version to check (default: this master's)")
    parser.add_argument("--metadata", default=os.path.join(PLUGIN_ROOT, "metadata.yaml"),
                        help="the installed plugin's metadata.yaml")
    args = parser.parse_args(argv)
    try:
        with open(args.metadata) as stream:
            metadata = yaml.safe_load(stream)
        supported, message = check(metadata, args.fuel_version or master_version())
    except (VersionUnknownError, IOError, OSError) as error:
        sys.stdout.write("upgrade check: cannot tell: %s\n" % error)
        return 2
    sys.stdout.write(message + "\n")
    return 0 if supported else 1


if __name__ == "__main__":
    sys.exit(main())
