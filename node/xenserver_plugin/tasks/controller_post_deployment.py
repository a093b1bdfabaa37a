"""Task controller_post_deployment (body delivered by its issue; for now it checks the node's data)."""
from xenserver_plugin import astute, runner

TASK = "controller_post_deployment"


def body(args, data):
    astute.plugin_settings(data)
    return "0 changes (nothing to do yet)"


def main(argv):
    return runner.run(TASK, body, argv)
