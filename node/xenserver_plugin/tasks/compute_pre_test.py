"""Task compute_pre_test: link the compute VM to its XenServer host before Nova starts.

Steps 1-3 of the compute issue: find and bring up the HIMN link (himn), check the host over XenAPI
(hostcheck; logging in first proves the credentials, so a wrong password fails before anything touches
Dom0), then make Dom0 trust the node's SSH key (dom0.ensure_trust). One SSH connection and one XenAPI
session for the run, closed at the end.
"""
import logging

from xenserver_plugin import astute, dom0, himn, hostcheck, runner, steps

TASK = "compute_pre_test"
LOG = logging.getLogger(TASK)


def open_dom0(settings):
    """Factory the tests replace: the task's one Dom0 connection."""
    return dom0.Dom0(settings)


def local_network():
    """Factory the tests replace: the node's network as commands see it."""
    return himn.LocalNetwork()


def body(args, data):
    node = astute.Node(data)
    settings = node.settings
    run = steps.Run(dry_run=args.dry_run)
    link = himn.ensure_himn(run, node, local_network())
    if link is None:
        return "%s (the HIMN link is not up yet, so the Dom0 checks did not run)" % run.summary()
    host = open_dom0(settings)
    try:
        facts = hostcheck.check_host(host)
        dom0.ensure_trust(run, host)
    finally:
        host.close()
    return "%s; HIMN %s %s; %s" % (run.summary(), link.nic, link.cidr, facts.summary())


def main(argv):
    return runner.run(TASK, body, argv)
