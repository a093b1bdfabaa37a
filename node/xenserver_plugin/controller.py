"""Controller changes for a XenServer environment: shared console tokens, Ceilometer's pipeline.

Every controller: Nova's `[cache]` uses the environment's memcached servers, so a noVNC console token made
by nova-consoleauth on one controller validates on any other behind the VIP. Primary controller, when
Ceilometer is enabled: the `network.services.*` pollsters (LBaaS/VPNaaS/FWaaS, absent here) are excluded
from the pipeline and the central agent is restarted through Pacemaker.
"""
import copy
import fnmatch
import logging
import time
import xml.etree.ElementTree as ElementTree

import yaml

from xenserver_plugin import files, ini, services, system
from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)

NOVA_CONF = "/etc/nova/nova.conf"
MEMCACHED_PORT = 11211
MEMCACHED_ROLES = ("primary-controller", "controller")
CONSOLE_SERVICES = ("nova-novncproxy", "nova-consoleauth")
CACHE_BACKEND = "oslo_cache.memcache_pool"

PIPELINE_YAML = "/etc/ceilometer/pipeline.yaml"
EXCLUDED_METERS = "network.services.*"
CENTRAL_AGENT = "p_ceilometer-agent-central"
STARTED_ROLES = ("Started", "Master", "Slave")


# --- Nova's [cache]: console tokens shared by the controllers --------------------------------------------

def memcached_servers_from_astute(data):
    """host:port of memcached on every controller, from network_metadata (mgmt/memcache), by node uid."""
    nodes = (data.get("network_metadata") or {}).get("nodes") or {}
    found = []
    for node in nodes.values():
        roles = node.get("node_roles") or []
        address = (node.get("network_roles") or {}).get("mgmt/memcache")
        if address and any(role in MEMCACHED_ROLES for role in roles):
            found.append((int(node.get("uid") or 0), address))
    return ["%s:%d" % (address, MEMCACHED_PORT) for _, address in sorted(found)]


def memcached_servers(nova_conf_text, data):
    """The servers keystone_authtoken already uses in nova.conf; else the controllers' from astute.yaml."""
    configured = ini.IniText(nova_conf_text).get("keystone_authtoken", "memcached_servers")
    servers = [server.strip() for server in (configured or "").split(",") if server.strip()]
    servers = servers or memcached_servers_from_astute(data)
    if not servers:
        raise OperatorError(
            "No memcached servers found: %s has no [keystone_authtoken] memcached_servers and astute.yaml "
            "names no controller with a mgmt/memcache address." % NOVA_CONF,
            "Deploy the controllers with Fuel first (its memcached and openstack-controller tasks), then "
            "re-run the task.")
    return servers


def cache_options(servers):
    return [
        ("cache", "enabled", "true"),
        ("cache", "backend", CACHE_BACKEND),
        ("cache", "memcache_servers", ",".join(servers)),
    ]


def ensure_console_cache(run, data, nova_conf=None):
    """nova.conf [cache] on memcached (mode and group kept); the console services restarted only when it
    changed."""
    nova_conf = nova_conf or NOVA_CONF
    current = files.read(nova_conf)
    if current is None:
        raise OperatorError("%s does not exist on this controller." % nova_conf,
                            "Deploy the controller with Fuel first, then re-run the task.")
    mark = len(run.changes)
    ini.ensure_options(run, nova_conf, cache_options(memcached_servers(current, data)),
                       group=files.group_of(nova_conf), service="Nova")
    restarted = False
    for service in CONSOLE_SERVICES:
        restarted = services.restart_if_changed(run, mark, service) or restarted
    return restarted


# --- Ceilometer: no network.services pollsters, central agent restarted by Pacemaker --------------------

def exclude_meters(pipeline, pattern=EXCLUDED_METERS):
    """The pipeline with `pattern` excluded from every source that polls all meters ("*") and removed from
    sources that list meters explicitly (Ceilometer refuses a source mixing included and excluded meters)."""
    for source in pipeline.get("sources") or []:
        meters = list(source.get("meters") or [])
        if "*" in meters:
            if "!" + pattern not in meters:
                meters.append("!" + pattern)
        else:
            kept = [meter for meter in meters if meter.startswith("!") or not fnmatch.fnmatch(meter, pattern)]
            meters = kept or meters
        source["meters"] = meters
    return pipeline


def ensure_pipeline(run, path=PIPELINE_YAML):
    """pipeline.yaml excludes network.services.*; returns True when it changed (or would)."""
    text = files.read(path)
    if text is None:
        raise OperatorError("Ceilometer is enabled but %s does not exist." % path,
                            "Deploy the controller with Fuel first (its ceilometer-controller task), then "
                            "re-run the task.")
    try:
        current = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise OperatorError("%s is not valid YAML (%s)." % (path, error),
                            "Fix or restore the file (Fuel's ceilometer-controller task writes it).")
    wanted = exclude_meters(copy.deepcopy(current))
    return run.ensure("%s excludes the %s meters" % (path, EXCLUDED_METERS), wanted == current,
                      lambda: files.write_atomic(path, "---\n" + yaml.safe_dump(wanted, default_flow_style=False),
                                                 files.mode_of(path) or 0o640, files.group_of(path)))


class ClusterResource(object):
    """A Pacemaker resource as `pcs status xml` (crm_mon's XML) reports it."""

    def __init__(self, resource_id, top_id, role, failed):
        self.id = resource_id
        self.top_id = top_id        # the clone/group holding it, or itself
        self.role = role
        self.failed = failed

    @property
    def started(self):
        return self.role in STARTED_ROLES and not self.failed


def cluster_resources(run_command=system.run):
    """Every primitive in the cluster with its role, parsed from `pcs status xml`."""
    result = run_command(["pcs", "status", "xml"], check=False)
    if not result.ok:
        raise OperatorError("Cannot read the Pacemaker cluster's status (pcs status xml: %s)."
                            % (result.err.strip() or "exit %d" % result.returncode),
                            "Check the cluster with `pcs status` on this controller and re-run the task.")
    try:
        root = ElementTree.fromstring(result.out)
    except ElementTree.ParseError as error:
        raise OperatorError("pcs status xml did not answer XML (%s)." % error,
                            "Check the cluster with `pcs status` on this controller and re-run the task.")
    found = []
    for top in list(root.find("resources") if root.find("resources") is not None else []):
        primitives = [top] if top.tag == "resource" else top.iter("resource")
        for primitive in primitives:
            found.append(ClusterResource(primitive.get("id"), top.get("id"), primitive.get("role"),
                                         primitive.get("failed") == "true"))
    return found


def wait_cluster_started(timeout=600, interval=5, run_command=system.run, sleep=time.sleep, clock=time.time):
    """Wait until every cluster resource is started; returns the resources, or fails naming the others."""
    deadline = clock() + timeout
    while True:
        resources = cluster_resources(run_command)
        waiting = sorted(set(resource.id for resource in resources if not resource.started))
        if not waiting:
            return resources
        if clock() >= deadline:
            raise OperatorError(
                "The cluster's resources did not all start within %d s (not started: %s)."
                % (timeout, ", ".join(waiting)),
                "Find why with `pcs status` and `crm_mon -1` on this controller, fix the resources, "
                "then re-run the task.")
        LOG.info("waiting for cluster resources: %s", ", ".join(waiting))
        sleep(interval)


def restart_central_agent(run, mark, run_command=system.run, **wait):
    """`pcs resource restart` of Ceilometer's central agent when the pipeline changed, once the cluster
    has started everything (restarting in a settling cluster can leave the agent stopped)."""
    if not run.changed_since(mark):
        return False

    def restart():
        resources = wait_cluster_started(run_command=run_command, **wait)
        agent = next((resource for resource in resources if resource.id == CENTRAL_AGENT), None)
        if agent is None:
            raise OperatorError("Pacemaker has no %s resource, so Ceilometer's central agent cannot be restarted."
                                % CENTRAL_AGENT,
                                "Deploy the controllers with Ceilometer enabled from Fuel, then re-run the task.")
        run_command(["pcs", "resource", "restart", agent.top_id])

    return run.ensure("Ceilometer's central agent (%s) restarted by Pacemaker" % CENTRAL_AGENT, False, restart)


def ensure_ceilometer(run, enabled, pipeline=PIPELINE_YAML, run_command=system.run, **wait):
    if not enabled:
        return False
    mark = len(run.changes)
    ensure_pipeline(run, pipeline)
    return restart_central_agent(run, mark, run_command=run_command, **wait)
