"""Ceilometer's compute polling through XenAPI (step 10; only when Ceilometer is enabled)."""
from xenserver_plugin import ini, services
from xenserver_plugin.dom0 import DOM0_URL

CEILOMETER_CONF = "/etc/ceilometer/ceilometer.conf"
GROUP = "ceilometer"
# Fuel 9.0 (MOS) names the compute polling agent ceilometer-polling; Ubuntu's packages ceilometer-agent-compute.
SERVICES = ("ceilometer-polling", "ceilometer-agent-compute")
SECRETS = (("xenapi", "connection_password"),)


def options(settings):
    return [
        ("DEFAULT", "hypervisor_inspector", "xenapi"),
        ("xenapi", "connection_url", DOM0_URL),
        ("xenapi", "connection_username", settings.username),
        ("xenapi", "connection_password", settings.password),
    ]


def ensure(run, settings, enabled):
    if not enabled:
        return False
    mark = len(run.changes)
    ini.ensure_options(run, CEILOMETER_CONF, options(settings), mode=0o640, group=GROUP, secrets=SECRETS,
                       service="Ceilometer")
    return services.restart_if_changed(run, mark, services.first_installed(SERVICES))
