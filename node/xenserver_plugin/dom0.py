"""Access to Dom0 (the XenServer host) from the compute VM, over the HIMN: SSH and XenAPI.

One task run opens one SSH ControlMaster connection (every `ssh`/`copy_to` rides on it) and one XenAPI
session; `close()` ends both. SSH uses a dedicated key; its public half is installed in Dom0 with the
password once (`ensure_trust`), the password reaching ssh's askpass helper only through ssh's environment
(never disk, argv or log). Dom0's host key is recorded on first trust and verified from then on.
"""
import logging
import os
import shutil
import socket
import tempfile

import six
from six.moves import xmlrpc_client

from xenserver_plugin import files, system
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.himn import DOM0_ADDRESS

LOG = logging.getLogger(__name__)

# XenAPI over the HIMN, as Nova, Neutron's rootwrap and Ceilometer are configured to reach it.
DOM0_URL = "http://%s" % DOM0_ADDRESS
# platform_version of XenServer 7.0 (6.5 is 1.9.0).
XENSERVER_7_PLATFORM = (2, 0, 0)
KEY_NAME = "xenserver_plugin_rsa"
KNOWN_HOSTS_NAME = "xenserver_plugin_known_hosts"
ORIGINATOR = "fuel-plugin-xenserver"
CONNECT_SECONDS = 15
XENAPI_SECONDS = 60
MASTER_IDLE_SECONDS = 900
SECRET_VARIABLE = "XENSERVER_PLUGIN_SSH_SECRET"

# The askpass helper prints the password it finds in its environment (inherited from ssh, which got it
# from us); the file itself holds no secret. printf is a shell builtin: no argv carries the value.
ASKPASS_TEXT = '#!/bin/sh\nprintf \'%%s\\n\' "$%s"\n' % SECRET_VARIABLE

# Append the key read from stdin unless present; keep the file's last line intact.
INSTALL_KEY_SCRIPT = (
    'umask 077; mkdir -p "$HOME/.ssh" && f="$HOME/.ssh/authorized_keys" && touch "$f" && key=$(cat) && '
    '{ grep -qxF "$key" "$f" || { if [ -n "$(tail -c1 "$f")" ]; then echo; fi; printf "%s\\n" "$key"; } >> "$f"; }')

CHECK_DOM0_FIX = ("Check that the XenServer host is up, that the compute VM's HIMN NIC is attached (XenCenter's "
                  "HIMN tool) and that SSH and XAPI run in Dom0.")
CREDENTIALS_FIX = ("Enter the XenServer host's root credentials in the environment's Settings tab (Compute, "
                   "XenServer Plugin) and redeploy; every XenServer host of the environment must use them.")


def quote_argv(argv):
    """One remote command line from an argument list, each argument quoted for Dom0's shell."""
    return " ".join(six.moves.shlex_quote(str(arg)) for arg in argv)


class TimeoutTransport(xmlrpc_client.Transport):
    """XML-RPC over HTTP with a socket timeout, so an unreachable Dom0 fails fast instead of hanging."""

    def __init__(self, timeout):
        xmlrpc_client.Transport.__init__(self)
        self.timeout = timeout

    def make_connection(self, host):
        connection = xmlrpc_client.Transport.make_connection(self, host)
        connection.timeout = self.timeout
        return connection


def xenapi_session(url, timeout=XENAPI_SECONDS):
    import XenAPI  # the SDK vendored next to the node code (2.14); imported only when Dom0 is used
    return XenAPI.Session(url, transport=TimeoutTransport(timeout))


def failure_details(error):
    """XenAPI.Failure details (a list) of an exception, or None when it is not a XenAPI failure."""
    details = getattr(error, "details", None)
    return list(details) if isinstance(details, (list, tuple)) and details else None


class Dom0(object):
    """One SSH connection (ControlMaster) and one XenAPI session per task run."""

    def __init__(self, settings, ssh_dir="/root/.ssh", address=DOM0_ADDRESS, run_command=system.run,
                 session_factory=xenapi_session):
        self.settings = settings
        self.address = address
        self.ssh_dir = ssh_dir
        self.key_path = os.path.join(ssh_dir, KEY_NAME)
        self.known_hosts = os.path.join(ssh_dir, KNOWN_HOSTS_NAME)
        self.run_command = run_command
        self.session_factory = session_factory
        self._control_dir = None
        self._connected = False
        self._session = None
        self._host_ref = None
        self._software_version = None

    # --- SSH ------------------------------------------------------------------------------------------
    @property
    def target(self):
        return "%s@%s" % (self.settings.username, self.address)

    @property
    def control_dir(self):
        """A private (0700) directory for the control socket and the askpass helper, removed by close()."""
        if self._control_dir is None:
            self._control_dir = tempfile.mkdtemp(prefix="xenserver-plugin-ssh.")
        return self._control_dir

    @property
    def control_path(self):
        return os.path.join(self.control_dir, "master")

    def host_key_known(self):
        return bool((files.read(self.known_hosts) or "").strip())

    def _common_options(self, strict=True):
        return ["-F", "/dev/null",
                "-o", "UserKnownHostsFile=%s" % self.known_hosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=%s" % ("yes" if strict else "no"),
                "-o", "ConnectTimeout=%d" % CONNECT_SECONDS,
                "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
                "-o", "LogLevel=ERROR"]

    def _key_options(self):
        return ["-i", self.key_path, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "PasswordAuthentication=no",
                "-o", "KbdInteractiveAuthentication=no"]

    def _env(self, extra=None):
        env = dict((key, value) for key, value in os.environ.items()
                   if key not in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "DISPLAY", SECRET_VARIABLE))
        env.update(extra or {})
        return env

    def connect(self, record_host_key=False):
        """Open the ControlMaster connection with the key. Returns (ok, ssh's error text)."""
        if self._connected:
            return True, ""
        strict = not record_host_key
        argv = (["ssh"] + self._common_options(strict) + self._key_options()
                + ["-o", "ControlMaster=yes", "-o", "ControlPath=%s" % self.control_path,
                   # a safety net only: close() ends the master; should the task be killed, it goes idle-away
                   "-o", "ControlPersist=%d" % MASTER_IDLE_SECONDS, "-N", "-f", self.target])
        result = self.run_command(argv, check=False, env=self._env(), timeout=CONNECT_SECONDS * 3,
                                  new_session=True)
        self._connected = result.ok
        return result.ok, (result.err or "").strip() or ("timed out" if result.timed_out else "")

    def require_connection(self):
        if not self._connected:
            ok, error = self.connect()
            if not ok:
                raise ssh_error(self, error)

    def ssh(self, argv, input_text=None, check=True, timeout=None):
        """Run argv in Dom0 over the task's connection; a CommandResult (RuntimeError if check and it fails)."""
        return self._ssh(argv, check, timeout, input_text=input_text)

    def copy_to(self, local_path, remote_path):
        """Stream a local file to Dom0 over the same connection (no scp/sftp subsystem needed)."""
        self._ssh(["sh", "-c", 'cat > "$1"', "sh", remote_path], True, None, stdin_path=local_path)

    def _ssh(self, argv, check, timeout, **stdin):
        self.require_connection()
        command = (["ssh"] + self._common_options() + self._key_options()
                   + ["-o", "ControlMaster=no", "-o", "ControlPath=%s" % self.control_path,
                      self.target, quote_argv(argv)])
        kwargs = dict(check=False, env=self._env(), timeout=timeout)
        kwargs.update((key, value) for key, value in stdin.items() if value is not None)
        result = self.run_command(command, **kwargs)
        result.argv = list(argv)
        if check and not result.ok:
            raise RuntimeError("Dom0: %s exited %d: %s" % (quote_argv(argv), result.returncode,
                                                            (result.err or "").strip()))
        return result

    def public_key(self):
        return (files.read(self.key_path + ".pub") or "").strip()

    def install_key_with_password(self):
        """The one use of the password over SSH: append our public key to Dom0's authorized_keys."""
        askpass = os.path.join(self.control_dir, "askpass")
        files.write_atomic(askpass, ASKPASS_TEXT, 0o700)
        argv = (["ssh"] + self._common_options(strict=self.host_key_known())
                + ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=keyboard-interactive,password",
                   "-o", "NumberOfPasswordPrompts=1", "-o", "BatchMode=no", "-o", "ControlPath=none",
                   "-T", self.target, INSTALL_KEY_SCRIPT])
        env = self._env({"SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0",
                         SECRET_VARIABLE: self.settings.password})
        try:
            result = self.run_command(argv, input_text=self.public_key() + "\n", check=False, env=env,
                                      timeout=CONNECT_SECONDS * 3, new_session=True)
        finally:
            os.unlink(askpass)
        if not result.ok:
            raise ssh_error(self, (result.err or "").strip() or "timed out", password=True)

    # --- XenAPI ---------------------------------------------------------------------------------------
    @property
    def xenapi(self):
        """The logged-in XenAPI session (XenAPI SDK Session): dom0.xenapi.xenapi.host.get_record(...)."""
        if self._session is None:
            self._session = self._login()
        return self._session

    def _login(self):
        url = "http://%s" % self.address
        session = self.session_factory(url)
        try:
            session.xenapi.login_with_password(self.settings.username, self.settings.password, "1.0", ORIGINATOR)
        except Exception as error:  # noqa: BLE001 - XenAPI.Failure, socket and HTTP errors, mapped below
            raise xenapi_error(self, error)
        LOG.info("XenAPI session opened on %s as %s", url, self.settings.username)
        return session

    @property
    def host_ref(self):
        if self._host_ref is None:
            session = self.xenapi
            self._host_ref = session.xenapi.session.get_this_host(session.handle)
        return self._host_ref

    @property
    def software_version(self):
        """host.get_software_version of this host (product_version, platform_version, ...)."""
        if self._software_version is None:
            self._software_version = self.xenapi.xenapi.host.get_software_version(self.host_ref)
        return self._software_version

    @property
    def platform_version(self):
        """e.g. (2, 1, 0) for XenServer 7.0."""
        return version_tuple(self.software_version.get("platform_version", "0"))

    @property
    def product_version(self):
        """e.g. (7, 0, 0)."""
        return version_tuple(self.software_version.get("product_version", "0"))

    def close(self):
        """End the XenAPI session and the SSH master; safe to call more than once."""
        if self._session is not None:
            try:
                self._session.xenapi.session.logout()
            except Exception as error:  # noqa: BLE001 - closing must not hide the task's outcome
                LOG.warning("XenAPI logout failed: %s", error)
            self._session = None
        if self._connected:
            self.run_command(["ssh"] + self._common_options() + ["-o", "ControlPath=%s" % self.control_path,
                                                                 "-O", "exit", self.target],
                             check=False, env=self._env(), timeout=CONNECT_SECONDS)
            self._connected = False
        if self._control_dir is not None:
            shutil.rmtree(self._control_dir, ignore_errors=True)
            self._control_dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def version_tuple(text):
    parts = []
    for part in str(text).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


# --- trust ----------------------------------------------------------------------------------------------

def ensure_key(run, dom0):
    """The dedicated SSH key exists, private half 0600."""
    have = os.path.exists(dom0.key_path) and os.path.exists(dom0.key_path + ".pub")

    def create():
        if not os.path.isdir(dom0.ssh_dir):
            os.makedirs(dom0.ssh_dir, 0o700)
        for path in (dom0.key_path, dom0.key_path + ".pub"):
            if os.path.exists(path):
                os.unlink(path)
        dom0.run_command(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C",
                          "%s@%s" % (ORIGINATOR, socket.gethostname()), "-f", dom0.key_path])
    run.ensure("SSH key %s for Dom0" % dom0.key_path, have, create)
    if have or not run.dry_run:
        run.ensure("%s is mode 0600" % dom0.key_path, files.mode_of(dom0.key_path) == 0o600,
                   lambda: os.chmod(dom0.key_path, 0o600))


def ensure_trust(run, dom0):
    """Key-based SSH to Dom0 works, Dom0's host key is recorded; True once the task's connection is open.

    A dry run connects only when that changes nothing (key and host key in place); else it reports.
    """
    ensure_key(run, dom0)
    known = dom0.host_key_known()
    if run.dry_run and not (known and os.path.exists(dom0.key_path)):
        run.ensure("record Dom0's host key in %s and authorize %s.pub in Dom0 (password used once)"
                   % (dom0.known_hosts, dom0.key_path), False, lambda: None)
        return False
    ok, error = dom0.connect(record_host_key=not known)
    if not ok and "denied" not in error.lower():
        raise ssh_error(dom0, error)
    if not known:
        # ssh recorded the key during the exchange above (StrictHostKeyChecking=no, this one time)
        run.ensure("Dom0's host key recorded in %s" % dom0.known_hosts, False, lambda: None)
    if ok:
        run.ensure("Dom0 %s accepts the key %s" % (dom0.target, dom0.key_path), True, None)
        return True
    run.ensure("Dom0 %s authorizes %s.pub (password used once)" % (dom0.target, dom0.key_path), False,
               dom0.install_key_with_password)
    if run.dry_run:
        return False
    ok, error = dom0.connect()
    if not ok:
        raise OperatorError(
            "Dom0 %s still refuses the key %s after it was added to authorized_keys: %s"
            % (dom0.target, dom0.key_path, error),
            "Check in Dom0 that /root/.ssh is mode 0700, authorized_keys 0600, and that sshd allows root "
            "public key logins (PermitRootLogin, PubkeyAuthentication in /etc/ssh/sshd_config).")
    return True


# --- errors ---------------------------------------------------------------------------------------------

def ssh_error(dom0, error, password=False):
    text = error.lower()
    if "host key verification failed" in text or "identification has changed" in text:
        return OperatorError(
            "Dom0 %s presented a host key different from the one recorded in %s (%s)."
            % (dom0.address, dom0.known_hosts, error),
            "If the XenServer host was reinstalled, remove %s on this node and rerun; otherwise find out "
            "what answers at %s." % (dom0.known_hosts, dom0.address))
    if "denied" in text and password:
        return OperatorError(
            "Dom0 %s refused the XenServer password for user %s over SSH." % (dom0.address, dom0.settings.username),
            CREDENTIALS_FIX + " If XenAPI accepts them, allow root password logins in Dom0's sshd "
            "(PermitRootLogin, PasswordAuthentication) for the first deployment.")
    if "denied" in text:
        return OperatorError("Dom0 %s refused the key %s over SSH." % (dom0.address, dom0.key_path),
                             "Rerun the task so it installs the key with the XenServer password.")
    return OperatorError("Cannot reach Dom0 at %s over SSH: %s." % (dom0.address, error or "no answer"),
                         CHECK_DOM0_FIX)


def xenapi_error(dom0, error):
    details = failure_details(error)
    if details and details[0] == "SESSION_AUTHENTICATION_FAILED":
        return OperatorError(
            "XenServer at %s rejected the username %s or its password (SESSION_AUTHENTICATION_FAILED)."
            % (dom0.address, dom0.settings.username), CREDENTIALS_FIX)
    if details and details[0] == "HOST_IS_SLAVE":
        return OperatorError(
            "The XenServer host of this compute VM is a pool member (its master is %s); XenAPI logins must "
            "go to the pool master." % (details[1] if len(details) > 1 else "unknown"),
            "Run one compute VM per standalone XenServer host, or leave the pool.")
    if details:
        return OperatorError("XenServer at %s refused the XenAPI login: %s." % (dom0.address, ", ".join(
            str(item) for item in details)), CHECK_DOM0_FIX)
    if isinstance(error, (socket.error, socket.timeout, IOError, OSError)):
        return OperatorError("Cannot reach XenAPI at http://%s: %s." % (dom0.address, error), CHECK_DOM0_FIX)
    if isinstance(error, (xmlrpc_client.ProtocolError, xmlrpc_client.Fault)):
        return OperatorError("XenAPI at http://%s did not answer as XenServer does: %s." % (dom0.address, error),
                             CHECK_DOM0_FIX)
    return error
