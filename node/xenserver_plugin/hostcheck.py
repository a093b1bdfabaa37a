"""Is this XenServer host one the plugin supports? Version, hotfixes and default SR, read over XenAPI.

SUPPORTED is the one place that says which XenServer releases work and which hotfixes each one needs.
"""
import logging

from xenserver_plugin.errors import OperatorError
from xenserver_plugin.image_cache import default_sr

LOG = logging.getLogger(__name__)

# product version (major, minor) -> hotfixes (pool_patch name_label) that must be applied on the host
SUPPORTED = {
    (6, 5): ("XS65ESP1013",),
    (7, 0): (),
    (7, 1): (),
}
# Nova's XenAPI driver needs a file-based SR (VHD files it can reach): EXT (local) or NFS.
FILE_SR_TYPES = ("ext", "nfs")
NULL_REF = "OpaqueRef:NULL"


def release_name(version):
    return ".".join(str(part) for part in version[:2])


class HostFacts(object):
    """What the check read from the host."""

    def __init__(self, name, product_version, platform_version, hotfixes, sr_type, sr_name):
        self.name = name
        self.product_version = product_version
        self.platform_version = platform_version
        self.hotfixes = sorted(hotfixes)
        self.sr_type = sr_type
        self.sr_name = sr_name

    def summary(self):
        return "XenServer %s (platform %s) on %s, default SR %s (%s)%s" % (
            ".".join(str(p) for p in self.product_version), ".".join(str(p) for p in self.platform_version),
            self.name, self.sr_name, self.sr_type,
            ", hotfixes %s" % ", ".join(self.hotfixes) if self.hotfixes else "")


def read_facts(dom0):
    """HostFacts over the task's XenAPI session (logging in validates the credentials)."""
    api = dom0.xenapi.xenapi
    host = dom0.host_ref
    hotfixes = set()
    for host_patch in api.host.get_patches(host):
        pool_patch = api.host_patch.get_pool_patch(host_patch)
        if pool_patch and pool_patch != NULL_REF:
            hotfixes.add(api.pool_patch.get_name_label(pool_patch))
    sr = default_sr(api)
    if not sr or sr == NULL_REF:
        sr_type, sr_name = None, None
    else:
        sr_type, sr_name = api.SR.get_type(sr), api.SR.get_name_label(sr)
    return HostFacts(api.host.get_name_label(host), dom0.product_version, dom0.platform_version, hotfixes,
                     sr_type, sr_name)


def check(facts):
    """OperatorError when the host is not supported; nothing when it is."""
    release = tuple(facts.product_version[:2])
    supported = ", ".join(release_name(version) for version in sorted(SUPPORTED))
    if release not in SUPPORTED:
        raise OperatorError(
            "XenServer %s on host %s is not supported by this plugin (supported: %s)."
            % (".".join(str(p) for p in facts.product_version), facts.name, supported),
            "Install a supported XenServer release on the host (with its hotfixes) and redeploy the node.")
    missing = [name for name in SUPPORTED[release] if name not in facts.hotfixes]
    if missing:
        raise OperatorError(
            "XenServer %s on host %s lacks the required hotfix%s %s." % (
                release_name(release), facts.name, "es" if len(missing) > 1 else "", ", ".join(missing)),
            "Apply %s on the host (XenCenter: Tools > Install Update, or xe patch-upload and xe patch-apply), "
            "then redeploy the node." % ", ".join(missing))
    if facts.sr_type not in FILE_SR_TYPES:
        raise OperatorError(
            "The default storage repository of host %s is %s, not a file-based one (%s): Nova's XenAPI driver "
            "needs VHD files." % (facts.name, "missing" if facts.sr_type is None
                                  else "'%s' of type %s" % (facts.sr_name, facts.sr_type),
                                  " or ".join(t.upper() for t in FILE_SR_TYPES)),
            "Thin provisioning (EXT) is chosen when XenServer is installed: reinstall the host with "
            "'Enable thin provisioning' ticked, or make an NFS SR the pool's default SR, then redeploy.")


def check_host(dom0):
    """Read and check the host; returns the HostFacts of a supported host."""
    facts = read_facts(dom0)
    LOG.info("host: %s", facts.summary())
    check(facts)
    return facts
