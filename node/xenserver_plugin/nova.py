"""Nova compute on the XenAPI driver: /etc/nova/nova-compute.conf (steps 6 and 7 of the compute task).

Every option name exists in Nova Mitaka ([xenserver] group registered by nova/virt/xenapi, see
../shared/reference/nova-xenapi.txt); a unit test checks that against the reference file.
"""
from xenserver_plugin import ini, services
from xenserver_plugin.dom0 import DOM0_URL

NOVA_COMPUTE_CONF = "/etc/nova/nova-compute.conf"
SERVICE = "nova-compute"
GROUP = "nova"
NOVNC_PORT = 6080
SECRETS = (("xenserver", "connection_password"),)


def novncproxy_base_url(public_vip, public_ssl, public_hostname=None):
    """The console URL browsers open: the public VIP; with public TLS, the name its certificate is for
    (Fuel's own endpoints use public_ssl.hostname then), falling back to the VIP."""
    host = (public_hostname or public_vip) if public_ssl else public_vip
    return "%s://%s:%d/vnc_auto.html" % ("https" if public_ssl else "http", host, NOVNC_PORT)


def options(settings, management_address, public_vip, public_ssl, public_hostname=None):
    """[(section, key, value)]: the driver, the console, and the XenAPI connection over the HIMN."""
    return [
        ("DEFAULT", "compute_driver", "xenapi.XenAPIDriver"),
        ("DEFAULT", "force_config_drive", "True"),
        ("vnc", "novncproxy_base_url", novncproxy_base_url(public_vip, public_ssl, public_hostname)),
        ("vnc", "vncserver_proxyclient_address", management_address),
        ("xenserver", "connection_url", DOM0_URL),
        ("xenserver", "connection_username", settings.username),
        ("xenserver", "connection_password", settings.password),
        ("xenserver", "vif_driver", "nova.virt.xenapi.vif.XenAPIOpenVswitchDriver"),
        ("xenserver", "ovs_integration_bridge", "br-int"),
        ("xenserver", "cache_images", "all"),
    ]


def ensure(run, settings, management_address, public_vip, public_ssl, public_hostname=None):
    mark = len(run.changes)
    ini.ensure_options(run, NOVA_COMPUTE_CONF,
                       options(settings, management_address, public_vip, public_ssl, public_hostname),
                       mode=0o640, group=GROUP, secrets=SECRETS, service=SERVICE)
    services.restart_if_changed(run, mark, SERVICE)
