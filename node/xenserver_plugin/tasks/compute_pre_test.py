"""Task compute_pre_test (body delivered by its issue; for now it checks the node's data)."""
from xenserver_plugin import astute, runner

TASK = "compute_pre_test"


def body(args, data):
    astute.plugin_settings(data)
    return "0 changes (nothing to do yet)"


def main(argv):
    return runner.run(TASK, body, argv)
