"""The supplemental pack of Nova's and Neutron's Dom0 plugins: installed in Dom0, then proven to work.

The build ships two ISOs of one pack and `suppack/suppack.json` (deployment_scripts/suppack/) describing it.
XenServer before 7.1 (platform < 2.2.0) installs the legacy format with `xe-install-supplemental-pack`; from 7.1 on
the update format is uploaded (`xe update-upload`) and applied (pool_update.apply). Either way the ISO is copied
to a temporary directory in Dom0 over the task's SSH connection and removed afterwards.

Then, installed by us or by hand (`install_xapi` unticked), the plugins must answer: the version plugin, called
through XenAPI as Nova calls it (pickled arguments), reports the pack's version, and every plugin file of the pack
is in /etc/xapi.d/plugins and executable.
"""
import io
import json
import logging
import os
import pickle

from xenserver_plugin.dom0 import failure_details
from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK_DIR = os.path.join(SCRIPTS_DIR, "suppack")
METADATA = "suppack.json"
UPDATE_PLATFORM = (2, 2, 0)
FUEL_PLUGINS_DIR = "/var/www/nailgun/plugins"


def uses_updates(platform_version):
    """Whether the host takes the update format (XenServer 7.1+) rather than the legacy supplemental pack."""
    return tuple(platform_version) >= UPDATE_PLATFORM


class Pack(object):
    """The pack the plugin ships, as builder/suppack.py described it in suppack.json."""

    def __init__(self, metadata, directory):
        self.name = metadata["name"]
        self.version = metadata["version"]
        self.update_uuid = metadata["update_uuid"]
        self.plugins_dir = metadata["plugins_dir"]
        self.version_plugin = metadata["version_plugin"]
        self.plugins = list(metadata["plugins"])
        self.legacy_iso = metadata["legacy_iso"]
        self.update_iso = metadata["update_iso"]
        self.directory = directory

    @classmethod
    def load(cls, directory=PACK_DIR):
        path = os.path.join(directory, METADATA)
        try:
            with open(path) as stream:
                return cls(json.load(stream), directory)
        except (IOError, OSError, ValueError, KeyError) as error:
            raise OperatorError("The plugin's supplemental pack description %s is missing or unreadable (%s)."
                                % (path, error),
                                "Reinstall the plugin RPM on the Fuel master and redeploy.")

    def iso_for(self, platform_version):
        return self.update_iso if uses_updates(platform_version) else self.legacy_iso

    def local_path(self, iso):
        return os.path.join(self.directory, iso)

    def master_path(self, iso):
        """Where the ISO is on the Fuel master: the plugin RPM installs deployment_scripts/ there."""
        plugin_dir = os.path.basename(os.path.dirname(os.path.abspath(self.directory)))
        return "%s/%s/deployment_scripts/suppack/%s" % (FUEL_PLUGINS_DIR, plugin_dir, iso)


def pickled(value):
    """Protocol 0, as Nova's call_plugin_serialized sends it: ASCII text inside the XML-RPC string map."""
    data = pickle.dumps(value, 0)
    return data.decode("ascii") if isinstance(data, bytes) and str is not bytes else data


class _PlainUnpickler(pickle.Unpickler):
    """Only plain data: a reply naming a class or function is refused, not executed."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("refusing %s.%s in a plugin reply" % (module, name))


def unpickled(text):
    data = text.encode("latin-1") if not isinstance(text, bytes) else text
    return _PlainUnpickler(io.BytesIO(data)).load()


def plugin_version(dom0, pack):
    """(version, None) as the pack's version plugin answers through XenAPI, or (None, why it cannot be called)."""
    args = {"params": pickled({"args": (), "kwargs": {}})}
    try:
        reply = dom0.xenapi.xenapi.host.call_plugin(dom0.host_ref, pack.version_plugin, "get_version", args)
    except Exception as error:  # noqa: BLE001 - XenAPI.Failure (missing or broken plugin) or a bad reply
        LOG.info("%s/get_version failed: %s", pack.version_plugin, error)
        details = failure_details(error)
        return None, " ".join(str(part) for part in details[:2]) if details else str(error)
    try:
        return unpickled(reply), None
    except Exception as error:  # noqa: BLE001 - any unreadable reply means an incompatible plugin
        LOG.info("%s/get_version replied %r, not a pickled value: %s", pack.version_plugin, reply, error)
        return None, "its reply is not what Nova expects"


def plugin_file_modes(dom0, pack):
    """{file name: mode} of the regular files in Dom0's plugins directory."""
    listing = dom0.ssh(["find", pack.plugins_dir, "-maxdepth", "1", "-type", "f", "-printf", "%m %f\\n"],
                       check=False)
    modes = {}
    for line in listing.out.splitlines():
        mode, _, name = line.partition(" ")
        if name:
            modes[name] = int(mode, 8)
    return modes


def problems(dom0, pack):
    """What is wrong with the installed plugins, as sentences; empty when they are the pack's, all executable."""
    found = []
    version, why_not = plugin_version(dom0, pack)
    if why_not:
        found.append("the version plugin %s cannot be called (%s)" % (pack.version_plugin, why_not))
    elif version != pack.version:
        found.append("the version plugin %s reports version %s, this plugin needs %s"
                     % (pack.version_plugin, version, pack.version))
    modes = plugin_file_modes(dom0, pack)
    missing = [name for name in pack.plugins if name not in modes]
    not_executable = [name for name in pack.plugins if name in modes and not modes[name] & 0o100]
    if missing and len(missing) == len(pack.plugins):
        found.append("none of its %d plugin files is in %s" % (len(missing), pack.plugins_dir))
    elif missing:
        found.append("missing from %s: %s" % (pack.plugins_dir, ", ".join(missing)))
    if not_executable:
        found.append("not executable in %s: %s" % (pack.plugins_dir, ", ".join(not_executable)))
    return found


def verify(dom0, pack, installed_by_task, found=None):
    """Fail with the operator's fix unless the plugins are right; `found`: problems() already measured."""
    found = problems(dom0, pack) if found is None else found
    if not found:
        LOG.info("Dom0 plugins %s %s present and answering", pack.name, pack.version)
        return
    iso = pack.iso_for(dom0.platform_version)
    if installed_by_task:
        raise OperatorError("The supplemental pack %s %s was installed but the Dom0 plugins are not right: %s."
                            % (pack.name, pack.version, "; ".join(found)),
                            "Check /var/log/xensource.log in Dom0 and install %s by hand (it is %s on the Fuel "
                            "master), then redeploy." % (iso, pack.master_path(iso)))
    raise OperatorError("The XenServer host does not have the Nova and Neutron Dom0 plugins this plugin needs "
                        "(\"Install Nova Plugins\" is off): %s." % "; ".join(found),
                        "Tick \"Install Nova Plugins\" in the environment's Settings tab and redeploy, or install "
                        "the supplemental pack %s by hand on the host (it is %s on the Fuel master; %s) and "
                        "redeploy." % (iso, pack.master_path(iso), install_hint(dom0.platform_version, iso)))


def install_hint(platform_version, iso):
    if uses_updates(platform_version):
        return "in Dom0: xe update-upload file-name=%s, then xe update-apply with the uuid it prints" % iso
    return "in Dom0: xe-install-supplemental-pack %s" % iso


class _RemoteCopy(object):
    """The ISO in a temporary directory of Dom0, removed on exit whatever happens."""

    def __init__(self, dom0, local_path):
        self.dom0 = dom0
        self.local_path = local_path
        self.directory = None

    def __enter__(self):
        self.directory = self.dom0.ssh(["mktemp", "-d", "/tmp/fuel-plugin-xenserver.XXXXXX"]).out.strip()
        remote = "%s/%s" % (self.directory, os.path.basename(self.local_path))
        self.dom0.copy_to(self.local_path, remote)
        return remote

    def __exit__(self, *exc_info):
        if self.directory:
            self.dom0.ssh(["rm", "-rf", "--", self.directory], check=False)
        return False


def _command_failed(what, result, pack, iso):
    return OperatorError("%s failed in Dom0 (exit %d): %s" % (what, result.returncode,
                                                               (result.err or result.out).strip()),
                         "Fix the cause in Dom0 or install %s by hand (it is %s on the Fuel master), then redeploy."
                         % (iso, pack.master_path(iso)))


def install_legacy(dom0, pack):
    iso = pack.legacy_iso
    with _RemoteCopy(dom0, pack.local_path(iso)) as remote:
        result = dom0.ssh(["xe-install-supplemental-pack", remote], check=False)
    if result.returncode != 0:
        raise _command_failed("xe-install-supplemental-pack %s" % iso, result, pack, iso)


def update_ref(dom0, pack):
    """The pool_update of our pack, or None when it was never uploaded."""
    try:
        return dom0.xenapi.xenapi.pool_update.get_by_uuid(pack.update_uuid)
    except Exception as error:  # noqa: BLE001 - XenAPI.Failure UUID_INVALID: not uploaded
        details = failure_details(error)
        if not details or details[0] != "UUID_INVALID":
            raise
        return None


def is_applied(dom0, ref):
    return ref is not None and dom0.host_ref in dom0.xenapi.xenapi.pool_update.get_hosts(ref)


def upload_update(dom0, pack):
    iso = pack.update_iso
    with _RemoteCopy(dom0, pack.local_path(iso)) as remote:
        result = dom0.ssh(["xe", "update-upload", "file-name=%s" % remote], check=False)
    if result.returncode != 0:
        if update_ref(dom0, pack) is not None:  # "already exists": uploaded meanwhile; apply it
            LOG.info("update %s was already uploaded: %s", pack.update_uuid, result.err.strip())
            return
        raise _command_failed("xe update-upload %s" % iso, result, pack, iso)


def apply_update(dom0, pack):
    ref = update_ref(dom0, pack)
    try:
        dom0.xenapi.xenapi.pool_update.apply(ref, dom0.host_ref)
    except Exception as error:  # noqa: BLE001 - XenAPI.Failure: already applied is success
        details = failure_details(error)
        if details is None:
            raise
        if details[0] == "UPDATE_ALREADY_APPLIED":
            LOG.info("update %s was already applied", pack.update_uuid)
            return
        iso = pack.update_iso
        raise OperatorError("Applying the update %s %s (uuid %s) failed: %s."
                            % (pack.name, pack.version, pack.update_uuid, " ".join(details)),
                            "Fix the cause in Dom0 or install %s by hand (it is %s on the Fuel master), then "
                            "redeploy." % (iso, pack.master_path(iso)))


def ensure(run, dom0, install_xapi, pack=None):
    """Install the pack when install_xapi is on (once), then prove the plugins are there and answer."""
    pack = pack or Pack.load()
    mark = len(run.changes)
    found = None
    if install_xapi:
        if not uses_updates(dom0.platform_version):
            found = problems(dom0, pack)
            run.ensure("Dom0 plugins %s %s installed (supplemental pack %s)" % (pack.name, pack.version,
                                                                                 pack.legacy_iso),
                       not found, lambda: install_legacy(dom0, pack))
        else:
            ref = update_ref(dom0, pack)
            run.ensure("update %s %s (uuid %s) uploaded to XenServer" % (pack.name, pack.version, pack.update_uuid),
                       ref is not None, lambda: upload_update(dom0, pack))
            run.ensure("update %s %s applied on this host" % (pack.name, pack.version),
                       is_applied(dom0, ref), lambda: apply_update(dom0, pack))
    if run.dry_run and run.changed_since(mark):
        return  # nothing was installed: the check would only repeat what the dry run reports
    verify(dom0, pack, install_xapi, None if run.changed_since(mark) else found)
