"""Dom0 and compute-VM housekeeping (step 11 of the compute task).

- Guest console logs in Dom0 rotated by a script run from cron, so they cannot fill Dom0's small disk.
- conntrackd in statistics mode with log rotation (XenServer 7.0+; 6.5 has no conntrack-tools).
- multipath on the compute VM ignores the xvd* disks XenServer attaches (Nova's VBDs are not multipath).
"""
import logging
import re

from xenserver_plugin import dom0_files, files, services
from xenserver_plugin.dom0 import XENSERVER_7_PLATFORM

LOG = logging.getLogger(__name__)
ROTATE_SCRIPT = "/usr/local/sbin/fuel-xenserver-rotate-guest-logs"
ROTATE_CRON = "/etc/cron.d/fuel-xenserver-rotate-guest-logs"
CONNTRACKD_CONF = "/etc/conntrackd/conntrackd.conf"
CONNTRACKD_BACKUP = CONNTRACKD_CONF + ".fuel-orig"
CONNTRACKD_LOGROTATE = "/etc/logrotate.d/conntrackd"
MULTIPATH_CONF = "/etc/multipath.conf"
MULTIPATH_SERVICE = "multipath-tools"
XVD_DEVNODE = 'devnode "^xvd[a-z]"'

ROTATE_SCRIPT_TEXT = r"""#!/bin/sh
# Keep Xen guest console logs small (fuel-plugin-xenserver); run from cron.
LOG_DIR=/var/log/xen/guest
MAX_KB=1024
KEEP_KB=512
mkdir -p "$LOG_DIR"
# Ask xenconsoled to log every guest console (xenstore forgets it when Dom0 reboots).
xenstore-write /local/logconsole/@ "$LOG_DIR/console.%d" 2>/dev/null
domids=" $(xenstore-list /local/domain 2>/dev/null | tr '\n' ' ') "
for log in "$LOG_DIR"/console.*; do
    [ -f "$log" ] || continue
    domid=${log##*/console.}
    domid=${domid%%.*}
    case "$domids" in
        *" $domid "*) ;;
        *) rm -f "$log"; continue ;;
    esac
    size=$(du -k "$log" | cut -f1)
    if [ "$size" -gt "$MAX_KB" ]; then
        tail -c $((KEEP_KB * 1024)) "$log" > "$log.tmp" && cat "$log.tmp" > "$log"
        rm -f "$log.tmp"
    fi
done
"""

ROTATE_CRON_TEXT = ("# fuel-plugin-xenserver: rotate Xen guest console logs\n"
                    "*/5 * * * * root %s >/dev/null 2>&1\n" % ROTATE_SCRIPT)

CONNTRACKD_CONF_TEXT = """# conntrackd in statistics mode (fuel-plugin-xenserver): Neutron reaches Dom0's
# conntrack through netwrap; statistics mode logs flows without synchronising with a
# peer. The original is kept in conntrackd.conf.fuel-orig.
General {
\tHashSize 8192
\tHashLimit 65535
\tLogFile on
\tSyslog off
\tLockFile /var/lock/conntrackd.lock
\tUNIX {
\t\tPath /var/run/conntrackd.ctl
\t\tBacklog 20
\t}
\tNetlinkBufferSize 2097152
\tNetlinkBufferSizeMaxGrowth 8388608
}
Stats {
\tLogFile on
}
"""

CONNTRACKD_LOGROTATE_TEXT = """# fuel-plugin-xenserver: conntrackd logs (statistics mode)
/var/log/conntrackd*.log {
    daily
    rotate 7
    maxsize 50M
    compress
    missingok
    notifempty
    copytruncate
}
"""


def ensure_console_log_rotation(run, dom0):
    dom0_files.ensure_file(run, dom0, ROTATE_SCRIPT, ROTATE_SCRIPT_TEXT, 0o755,
                           "Dom0 %s rotates guest console logs" % ROTATE_SCRIPT)
    dom0_files.ensure_file(run, dom0, ROTATE_CRON, ROTATE_CRON_TEXT, 0o644,
                           "Dom0 %s runs it every 5 minutes" % ROTATE_CRON)


def _backup_then_write(dom0, content):
    dom0.ssh(["sh", "-c", 'if [ -f "$1" ] && [ ! -e "$2" ]; then cp -p "$1" "$2"; fi',
              "sh", CONNTRACKD_CONF, CONNTRACKD_BACKUP])
    dom0_files.write(dom0, CONNTRACKD_CONF, content, 0o644)


def ensure_conntrackd_enabled(run, dom0):
    """conntrackd starts at boot (XenServer 7 is systemd-based; a unit systemctl cannot state is left as is)."""
    if dom0.ssh(["sh", "-c", "command -v systemctl"], check=False).returncode != 0:
        return
    state = dom0.ssh(["systemctl", "is-enabled", "conntrackd"], check=False).out.strip()
    if state not in ("enabled", "disabled"):
        LOG.info("conntrackd unit state %r: left as is", state)
        return
    run.ensure("Dom0 conntrackd starts at boot", state == "enabled",
               lambda: dom0.ssh(["systemctl", "enable", "conntrackd"]))


def ensure_conntrackd(run, dom0):
    """Statistics mode + log rotation on XenServer 7.0 and later; restarted only when changed."""
    if tuple(dom0.platform_version) < XENSERVER_7_PLATFORM:
        return False
    mark = len(run.changes)
    mode, current = dom0_files.read(dom0, CONNTRACKD_CONF)
    run.ensure("Dom0 %s in statistics mode" % CONNTRACKD_CONF,
               current == CONNTRACKD_CONF_TEXT and mode == 0o644,
               lambda: _backup_then_write(dom0, CONNTRACKD_CONF_TEXT))
    dom0_files.ensure_file(run, dom0, CONNTRACKD_LOGROTATE, CONNTRACKD_LOGROTATE_TEXT, 0o644,
                           "Dom0 %s rotates conntrackd logs" % CONNTRACKD_LOGROTATE)
    ensure_conntrackd_enabled(run, dom0)
    return services.restart_if_changed(run, mark, "conntrackd", run_command=dom0.ssh,
                                       what="Dom0 conntrackd restarted in statistics mode")


_BLACKLIST_OPEN = re.compile(r"^\s*blacklist\s*\{\s*$", re.MULTILINE)
_XVD_LINE = re.compile(r'^\s*devnode\s+"\^xvd', re.MULTILINE)


def multipath_conf_ignoring_xvd(text):
    """multipath.conf with `devnode "^xvd[a-z]"` in its blacklist (other content kept)."""
    text = text or ""
    if _XVD_LINE.search(text):
        return text
    opening = _BLACKLIST_OPEN.search(text)
    if opening:
        return text[:opening.end()] + "\n\t%s" % XVD_DEVNODE + text[opening.end():]
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("# XenServer's virtual disks are never multipath (fuel-plugin-xenserver)\n"
                   "blacklist {\n\t%s\n}\n" % XVD_DEVNODE)


def ensure_multipath_ignores_xvd(run):
    wanted = multipath_conf_ignoring_xvd(files.read(MULTIPATH_CONF))
    mark = len(run.changes)
    files.ensure_file(run, MULTIPATH_CONF, wanted, files.mode_of(MULTIPATH_CONF) or 0o644,
                      what="%s ignores xvd* disks" % MULTIPATH_CONF)
    if services.installed(MULTIPATH_SERVICE):
        services.restart_if_changed(run, mark, MULTIPATH_SERVICE)


def ensure(run, dom0):
    ensure_console_log_rotation(run, dom0)
    ensure_conntrackd(run, dom0)
    ensure_multipath_ignores_xvd(run)
