#!/usr/bin/env python
"""Remove Glance images Nova cached in the XenServer SR that no VM uses any more (step 12).

With `[xenserver] cache_images = all`, Nova keeps each image it booted as a VDI in the default SR (marked
with other_config:image-id) and clones instance disks from it; nothing removes them. This file is both
the tool (installed on the compute node, run daily by cron; stdlib + XenAPI only, so it runs on its own)
and, in `install()`, the ensure step that installs it.

A cached image is in use when a VBD attaches it, or when any other VDI of the SR shares its VHD chain
(an instance disk cloned from it is a child of the same hidden base copy).
"""
import argparse
import logging
import os
import sys

CONFIG = "/etc/nova/nova-compute.conf"
TOOL_PATH = "/usr/local/bin/xenserver-image-cache-cleanup"
CRON_PATH = "/etc/cron.d/xenserver-image-cache-cleanup"
LOG_PATH = "/var/log/fuel-plugin-xenserver/image-cache-cleanup.log"
ORIGINATOR = "fuel-xenserver-image-cache"
LOG = logging.getLogger("image-cache-cleanup")


def read_connection(path=CONFIG):
    """(url, username, password) from nova-compute.conf's [xenserver] section."""
    try:
        import configparser
        parser = configparser.RawConfigParser(strict=False)
    except ImportError:  # Python 2.7
        import ConfigParser as configparser  # noqa: N813
        parser = configparser.RawConfigParser()
    if not parser.read(path):
        raise SystemExit("cannot read %s" % path)
    try:
        return (parser.get("xenserver", "connection_url"), parser.get("xenserver", "connection_username"),
                parser.get("xenserver", "connection_password"))
    except (configparser.NoSectionError, configparser.NoOptionError) as error:
        raise SystemExit("%s: %s" % (path, error))


def _ancestors(uuid, records_by_uuid):
    """The uuids of the VHD parents of a VDI (sm_config:vhd-parent), nearest first."""
    found = []
    current = records_by_uuid.get(uuid)
    while current is not None:
        parent = (current.get("sm_config") or {}).get("vhd-parent")
        if not parent or parent in found:
            break
        found.append(parent)
        current = records_by_uuid.get(parent)
    return found


def unused_cached_images(vdi_records):
    """[(vdi_ref, record)] of cached images (other_config:image-id) that no VBD or other VDI uses."""
    by_uuid = dict((record["uuid"], record) for record in vdi_records.values())
    chains = dict((record["uuid"], _ancestors(record["uuid"], by_uuid)) for record in vdi_records.values())
    unused = []
    for ref, record in sorted(vdi_records.items()):
        if "image-id" not in (record.get("other_config") or {}):
            continue
        if record.get("VBDs"):
            continue
        own = chains[record["uuid"]]
        family = set([record["uuid"]] + own)
        used = any(uuid != record["uuid"] and uuid not in own and family.intersection(chain)
                   for uuid, chain in chains.items())
        if not used:
            unused.append((ref, record))
    return unused


def default_sr(xenapi):
    pool = xenapi.pool.get_all()[0]
    return xenapi.pool.get_default_SR(pool)


def clean(xenapi, dry_run=False, out=sys.stdout):
    """Destroy (or, in a dry run, list) unused cached images of the default SR; returns how many."""
    sr = default_sr(xenapi)
    records = dict((ref, record) for ref, record in xenapi.VDI.get_all_records().items() if record["SR"] == sr)
    unused = unused_cached_images(records)
    for ref, record in unused:
        what = "cached image %s (VDI %s)" % (record["other_config"]["image-id"], record["uuid"])
        if dry_run:
            out.write("would remove %s\n" % what)
            continue
        xenapi.VDI.destroy(ref)
        out.write("removed %s\n" % what)
    if unused and not dry_run:
        xenapi.SR.scan(sr)  # lets the SR's garbage collector reclaim the hidden base copies
    out.write("%d unused cached image%s%s\n" % (len(unused), "" if len(unused) == 1 else "s",
                                                " (dry run)" if dry_run else ""))
    return len(unused)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="xenserver-image-cache-cleanup", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.add_argument("--config", default=CONFIG, help="nova-compute.conf with the [xenserver] connection")
    args = parser.parse_args(argv)
    import XenAPI
    url, username, password = read_connection(args.config)
    session = XenAPI.Session(url)
    try:
        session.xenapi.login_with_password(username, password, "1.0", ORIGINATOR)
    except XenAPI.Failure as failure:
        sys.stderr.write("cannot log in to XenServer at %s: %s\n" % (url, failure.details[0]))
        return 1
    try:
        clean(session.xenapi, args.dry_run)
    finally:
        session.xenapi.session.logout()
    return 0


def _source_text():
    path = os.path.abspath(__file__)
    if path.endswith((".pyc", ".pyo")):
        path = path[:-1]
    with open(path) as stream:
        return stream.read()


def cron_text(python):
    return ("# fuel-plugin-xenserver: remove unused Glance images cached in the XenServer SR, daily\n"
            "17 3 * * * root %s %s >>%s 2>&1\n" % (python, TOOL_PATH, LOG_PATH))


def install(run, python=None):
    """The tool and its daily cron entry are on the compute node (ensure steps)."""
    from xenserver_plugin import files
    files.ensure_file(run, TOOL_PATH, _source_text(), 0o755, what="%s installed (image cache clean-up)" % TOOL_PATH)
    files.ensure_file(run, CRON_PATH, cron_text(python or sys.executable), 0o644,
                      what="%s runs it daily" % CRON_PATH)


if __name__ == "__main__":
    sys.exit(main())
