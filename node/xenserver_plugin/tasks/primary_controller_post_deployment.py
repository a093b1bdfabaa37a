"""Task primary_controller_post_deployment (last, on the primary controller): the XenServer TestVM in Glance,
and Ceilometer's pipeline without the network.services pollsters.

The image ships in the plugin (deployment_scripts/testvm/, built by `make`); the OpenStack credentials come
from /root/openrc. XENSERVER_PLUGIN_TESTVM_DIR and XENSERVER_PLUGIN_OPENRC override both paths (tests, lab).
"""
import os

from xenserver_plugin import astute, controller, glance, runner, steps

TASK = "primary_controller_post_deployment"
SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def testvm_dir():
    return os.environ.get("XENSERVER_PLUGIN_TESTVM_DIR", os.path.join(SCRIPTS_DIR, "testvm"))


def body(args, data):
    astute.plugin_settings(data)
    node = astute.Node(data)
    image = glance.ImageFile(testvm_dir())
    run = steps.Run(dry_run=args.dry_run)
    client = glance.connect(os.environ.get("XENSERVER_PLUGIN_OPENRC", glance.OPENRC))
    glance.ensure_testvm(run, client, image)
    controller.ensure_ceilometer(run, node.ceilometer_enabled)
    return run.summary()


def main(argv):
    return runner.run(TASK, body, argv)
