"""Task compute_post_deployment: make a deployed Fuel compute node a XenServer compute node.

Steps 4-12 of the compute issue, each module one concern: Dom0 routes, the NAT gateway and console
forward, the Dom0 plugins (supplemental pack), the XenAPI SDK, Nova, Neutron, Ceilometer, housekeeping
and the image cache clean-up. Everything that can fail on the operator's input is checked before the
first change, so a failure leaves nothing half-written.
"""
import logging
import sys

from xenserver_plugin import (
    astute,
    ceilometer,
    dom0_routes,
    gateway,
    housekeeping,
    image_cache,
    ini,
    neutron,
    nova,
    runner,
    steps,
    suppack,
    xenapi_module,
)
from xenserver_plugin.errors import OperatorError

TASK = "compute_post_deployment"
LOG = logging.getLogger(TASK)


def open_dom0(settings):
    from xenserver_plugin.dom0 import Dom0
    return Dom0(settings)


def dom0_networks(node):
    """The storage and management networks (real prefixes), each once."""
    networks = []
    for endpoint in (node.storage, node.management):
        if endpoint is not None and endpoint.network not in networks:
            networks.append(endpoint.network)
    return networks


def verify_xenapi_importable(run):
    if run.dry_run or xenapi_module.importable():
        return
    raise OperatorError(
        "The node's Python cannot import the XenAPI module after it was installed, so "
        "neutron-rootwrap-xen-dom0 cannot reach Dom0.",
        "Check that %s is the Python Neutron runs under and that its dist-packages directory is writable, "
        "then re-run the task." % sys.executable)


def require_service_groups(node):
    """The groups the configuration files are shared with exist (OpenStack's packages are installed)."""
    ini.require_group(nova.GROUP, nova.SERVICE)
    ini.require_group(neutron.GROUP, neutron.SERVICE)
    if node.ceilometer_enabled:
        ini.require_group(ceilometer.GROUP, "Ceilometer")


def deploy(run, node, dom0, himn, settings, private_nic):
    """Facts that can fail on the operator's side first (XenAPI login, private VIF, pack, groups, a writable
    place for the XenAPI SDK), then the Dom0 plugins (a missing or broken set fails before anything else is
    touched), then the rest. settings and private_nic (nic, physnet) are what body() read from the node."""
    nic, physnet = private_nic
    private_bridge = neutron.private_dom0_bridge(dom0, nic)
    pack = suppack.Pack.load()      # the pack the plugin ships: a broken plugin install fails first
    require_service_groups(node)
    sdk = xenapi_module.Install()
    sdk.require_writable()
    suppack.ensure(run, dom0, settings.install_xapi, pack=pack)  # installed if ticked, else only verified
    dom0_routes.ensure(run, dom0, dom0_networks(node), himn.address)
    gateway.ensure(run, himn, node.management, node.storage)
    sdk.ensure(run)
    verify_xenapi_importable(run)
    nova.ensure(run, settings, node.management.address, node.public_vip, node.public_ssl, node.public_hostname)
    neutron.ensure(run, dom0, settings, physnet, private_bridge)
    ceilometer.ensure(run, settings, node.ceilometer_enabled)
    housekeeping.ensure(run, dom0)
    image_cache.install(run)


def body(args, data):
    node = astute.Node(data)
    settings = node.settings          # plugin section and credentials first: clear error, no change
    private_nic = node.require_private_nic()
    node.require_management()
    himn = gateway.find_himn_link()
    run = steps.Run(dry_run=args.dry_run)
    dom0 = open_dom0(settings)
    try:
        deploy(run, node, dom0, himn, settings, private_nic)
    finally:
        dom0.close()
    return run.summary()


def main(argv):
    return runner.run(TASK, body, argv)
