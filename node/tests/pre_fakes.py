"""Fakes for the compute pre-test: the node's network, Dom0's sshd, a XenAPI session like the SDK's,
and a recording command runner."""
import os

import XenAPI

from xenserver_plugin import dom0, himn, system

PASSWORD = "XenR00t-ha"


class _Dispatch(object):
    def __init__(self, session, path):
        self._session = session
        self._path = path

    def __getattr__(self, name):
        return _Dispatch(self._session, self._path + [name])

    def __call__(self, *args):
        return self._session.call(".".join(self._path), args)


class FakeSession(object):
    """XenAPI.Session look-alike holding one host, its patches and its default SR."""

    def __init__(self, product="7.0.0", platform="2.1.0", hotfixes=(), sr_type="ext", password=PASSWORD,
                 unreachable=None):
        self.product = product
        self.platform = platform
        self.hotfixes = list(hotfixes)
        self.sr_type = sr_type
        self.password = password
        self.unreachable = unreachable
        self.calls = []
        self.logins = 0
        self.logged_in = False

    @property
    def handle(self):
        return "OpaqueRef:session-1" if self.logged_in else None

    @property
    def xenapi(self):
        return _Dispatch(self, [])

    def call(self, method, args):
        self.calls.append(method)
        if self.unreachable is not None:
            raise self.unreachable
        if method == "login_with_password":
            username, password = args[0], args[1]
            if (username, password) != ("root", self.password):
                raise XenAPI.Failure(["SESSION_AUTHENTICATION_FAILED", username, "Authentication failure"])
            self.logins += 1
            self.logged_in = True
            return None
        assert self.logged_in, "%s called without a session" % method
        return getattr(self, "_" + method.replace(".", "_"))(*args)

    def _session_get_this_host(self, session):
        assert session == self.handle
        return "OpaqueRef:host"

    def _session_logout(self):
        self.logged_in = False
        return ""

    def _host_get_software_version(self, host):
        return {"product_version": self.product, "platform_version": self.platform, "product_brand": "XenServer"}

    def _host_get_name_label(self, host):
        return "xs-host-1"

    def _host_get_patches(self, host):
        return ["OpaqueRef:hp-%d" % i for i in range(len(self.hotfixes))]

    def _host_patch_get_pool_patch(self, ref):
        return "OpaqueRef:pp-" + ref.split("-")[-1]

    def _pool_patch_get_name_label(self, ref):
        return self.hotfixes[int(ref.split("-")[-1])]

    def _pool_get_all(self):
        return ["OpaqueRef:pool"]

    def _pool_get_default_SR(self, pool):  # noqa: N802 - XenAPI's name
        return "OpaqueRef:NULL" if self.sr_type is None else "OpaqueRef:sr"

    def _SR_get_type(self, sr):  # noqa: N802
        return self.sr_type

    def _SR_get_name_label(self, sr):  # noqa: N802
        return "Local storage"


class Recorder(object):
    """A run_command that answers from a handler and records argv and env of every call."""

    def __init__(self, handler):
        self.handler = handler
        self.calls = []

    def __call__(self, argv, input_text=None, check=True, env=None, timeout=None, new_session=False,
                 stdin_path=None):
        self.calls.append({"argv": list(argv), "input": input_text, "env": env, "stdin_path": stdin_path})
        returncode, out, err = self.handler(list(argv), input_text)
        result = system.CommandResult(list(argv), returncode, out, err)
        if check and returncode != 0:
            raise RuntimeError("%s exited %d" % (argv[0], returncode))
        return result


class FakeNetwork(object):
    """The node's links as the fixture compute node has them: eth0-2 carry Fuel networks, eth3 is free."""

    def __init__(self, dhcp=None, xenstore_mac=None, answering=("eth3",)):
        self.nics = {
            "eth0": himn.Link("eth0", "00:16:3e:00:00:00", ["10.20.0.204/24"], up=True),
            "eth1": himn.Link("eth1", "00:16:3e:00:00:01", [], up=True),
            "eth2": himn.Link("eth2", "00:16:3e:00:00:02", [], up=True),
            "eth3": himn.Link("eth3", "00:16:3e:00:00:03", []),
            "br-mgmt": himn.Link("br-mgmt", "00:16:3e:00:00:01", ["192.168.0.8/24"], kind="bridge", up=True),
        }
        self.dhcp = dict(dhcp or {"eth3": "169.254.0.5/16"})
        self.xenstore_mac = xenstore_mac
        self.answering = set(answering)
        self.routes = []
        self.calls = []

    def links(self):
        return [himn.Link(lnk.name, lnk.mac, lnk.addresses, lnk.kind, lnk.master, lnk.up)
                for lnk in self.nics.values()]

    def default_routes_via(self, gateway):
        return [dev for gw, dev in self.routes if gw == gateway]

    def delete_default_route(self, gateway, device):
        self.calls.append(("route-del", device))
        self.routes.remove((gateway, device))

    def xenstore_read(self, key):
        assert key == "vm-data/himn_mac"
        return self.xenstore_mac

    def answers(self, nic):
        return nic in self.answering and bool(self.nics[nic].link_local)

    def dhcp_probe(self, nic):
        self.calls.append(("probe", nic))
        return self.dhcp.get(nic)

    def ifup(self, nic):
        self.calls.append(("ifup", nic))
        lease = self.dhcp.get(nic)
        if lease:
            self.nics[nic].addresses = [lease]
            self.nics[nic].up = True
            self.routes.append(("169.254.0.1", nic))  # as if the server's router option were applied
        return lease is not None

    def ifdown(self, nic):
        self.calls.append(("ifdown", nic))


def option(argv, name):
    prefix = name + "="
    return next((arg[len(prefix):] for arg in argv if arg.startswith(prefix)), None)


class FakeSshd(object):
    """Dom0's sshd as the ssh client sees it, plus ssh-keygen on the node."""

    HOST_KEY = "169.254.0.1 ssh-ed25519 AAAAdom0hostkey\n"

    def __init__(self, authorized=False, reachable=True, host_key=None, password=PASSWORD):
        self.authorized = authorized
        self.reachable = reachable
        self.host_key = host_key or self.HOST_KEY
        self.password = password
        self.masters = 0
        self.master_up = False
        self.remote = []

    def __call__(self, argv, input_text):
        if argv[0] == "ssh-keygen":
            path = argv[argv.index("-f") + 1]
            with open(path, "w") as stream:
                stream.write("PRIVATE\n")
            os.chmod(path, 0o600)
            with open(path + ".pub", "w") as stream:
                stream.write("ssh-rsa AAAAnodekey %s\n" % argv[argv.index("-C") + 1])
            return 0, "", ""
        assert argv[0] == "ssh"
        if "-O" in argv:
            self.master_up = False
            return 0, "", ""
        if option(argv, "ControlMaster") == "no":
            assert self.master_up, "a command ran without the master connection"
            self.remote.append((argv[-1], input_text))
            return 0, "remote output\n", ""
        if not self.reachable:
            return 255, "", "ssh: connect to host 169.254.0.1 port 22: Connection timed out\n"
        known_hosts = option(argv, "UserKnownHostsFile")
        known = open(known_hosts).read() if os.path.exists(known_hosts) else ""
        if option(argv, "StrictHostKeyChecking") == "no":
            if not known:
                with open(known_hosts, "w") as stream:
                    stream.write(self.host_key)
        elif known != self.host_key:
            return 255, "", "Host key verification failed.\n"
        if option(argv, "PubkeyAuthentication") == "no":
            return self.password_login(argv, input_text)
        if not self.authorized:
            return 255, "", "root@169.254.0.1: Permission denied (publickey,password).\n"
        assert "-N" in argv and "-f" in argv and option(argv, "ControlMaster") == "yes"
        self.masters += 1
        self.master_up = True
        return 0, "", ""

    def password_login(self, argv, input_text):
        self.password_argv = argv
        self.askpass_text = open(self.askpass_path(argv)).read()
        if self.env[dom0.SECRET_VARIABLE] != self.password:
            return 255, "", "root@169.254.0.1: Permission denied (publickey,password,keyboard-interactive).\n"
        assert input_text.startswith("ssh-rsa AAAAnodekey")
        self.authorized = True
        return 0, "", ""

    def askpass_path(self, argv):
        return self.env["SSH_ASKPASS"]
