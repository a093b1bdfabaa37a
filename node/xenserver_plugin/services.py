"""Services restarted only when a step they depend on changed something."""
import os

from xenserver_plugin import system

INIT_DIRS = ("/etc/init", "/etc/init.d")


def installed(name):
    """Whether an upstart job or SysV script of that name exists (Ubuntu 14.04 has both kinds)."""
    return (os.path.exists(os.path.join(INIT_DIRS[0], name + ".conf"))
            or os.path.exists(os.path.join(INIT_DIRS[1], name)))


def first_installed(names):
    """The first of several possible service names that exists on this node, else the first name."""
    return next((name for name in names if installed(name)), names[0])


def restart_if_changed(run, mark, service, run_command=None, what=None):
    """Restart `service` when run has changes after `mark` (len(run.changes) before the steps it reads).

    run_command runs `service NAME restart` (default system.run, on this node; dom0.ssh restarts it in Dom0);
    what is the step's text (default: "NAME restarted to read its new configuration").
    """
    if not run.changed_since(mark):
        return False
    command = run_command or system.run
    return run.ensure(what or "%s restarted to read its new configuration" % service, False,
                      lambda: command(["service", service, "restart"]))
