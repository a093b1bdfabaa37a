"""The XenAPI SDK importable by the node's Python (step 8): neutron-rootwrap-xen-dom0 does `import XenAPI`.

The plugin vendors the SDK next to its entry points (deployment_scripts/XenAPI); it is copied into the
interpreter's dist-packages, file by file, so re-runs compare contents instead of re-copying.
"""
import os
import sys

from xenserver_plugin import files, system
from xenserver_plugin.errors import OperatorError

PACKAGE = "XenAPI"


def vendored_dir():
    """The XenAPI package the task itself imports (the plugin's vendored copy in deployment_scripts)."""
    import XenAPI
    return os.path.dirname(os.path.abspath(XenAPI.__file__))


def target_dir(python=None):
    """The node Python's dist-packages (site-packages in a virtualenv), as that interpreter reports it."""
    code = ("try:\n"
            "    from distutils.sysconfig import get_python_lib\n"
            "except ImportError:\n"
            "    import sysconfig\n"
            "    def get_python_lib():\n"
            "        return sysconfig.get_paths()['purelib']\n"
            "print(get_python_lib())\n")
    return system.run([python or sys.executable, "-c", code]).out.strip()


def package_files(source):
    return sorted(name for name in os.listdir(source) if name.endswith(".py"))


class Install(object):
    """The vendored SDK's files and where the node's Python wants them; `missing` are those not there yet."""

    def __init__(self, python=None, source=None):
        self.python = python or sys.executable
        self.source = source or vendored_dir()
        self.target = os.path.join(target_dir(self.python), PACKAGE)
        names = package_files(self.source)
        if not names:
            raise OperatorError("The plugin's copy of the XenAPI SDK (%s) is empty." % self.source,
                                "Reinstall the plugin RPM on the Fuel master and redeploy the node.")
        same_place = os.path.abspath(self.source) == os.path.abspath(self.target)
        self.files = [] if same_place else [(os.path.join(self.target, name),
                                             files.read(os.path.join(self.source, name))) for name in names]

    def missing(self):
        return [path for path, content in self.files if files.read(path) != content]

    def require_writable(self):
        """Fail before any change of the task when the SDK must be written where root cannot write."""
        if not self.missing():
            return
        directory = self.target
        while not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        if not os.access(directory, os.W_OK):
            raise self.error("%s is not writable" % directory)

    def error(self, reason):
        return OperatorError(
            "Cannot install the XenAPI SDK into %s, where the node's Python (%s) looks for modules: %s."
            % (self.target, self.python, reason),
            "neutron-rootwrap-xen-dom0 needs `import XenAPI`: make that directory writable for root "
            "(or install the XenAPI 2.14 SDK there by hand) and re-run the task.")

    def ensure(self, run):
        for path, content in self.files:
            try:
                files.ensure_file(run, path, content, 0o644, what="XenAPI SDK for the node's Python: %s" % path)
            except (IOError, OSError) as error:
                raise self.error(error.strerror or error)


def importable(python=None):
    """Whether the node's Python imports XenAPI from outside the plugin directory."""
    code = "import sys; sys.path.pop(0); import XenAPI"  # not the plugin's copy in the working directory
    return system.run([python or sys.executable, "-c", code], check=False,
                      env=_env_without_plugin_path()).returncode == 0


def _env_without_plugin_path():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env
