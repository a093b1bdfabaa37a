"""Fakes for the compute pre-test: a XenAPI session like the SDK's, and a recording command runner."""
import XenAPI

from xenserver_plugin import system

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
