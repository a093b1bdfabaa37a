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


def ensure(run, python=None, source=None):
    source = source or vendored_dir()
    target = os.path.join(target_dir(python), PACKAGE)
    if os.path.abspath(source) == os.path.abspath(target):
        return
    names = package_files(source)
    if not names:
        raise OperatorError("The plugin's copy of the XenAPI SDK (%s) is empty." % source,
                            "Reinstall the plugin RPM on the Fuel master and redeploy the node.")
    for name in names:
        content = files.read(os.path.join(source, name))
        try:
            files.ensure_file(run, os.path.join(target, name), content, 0o644,
                              what="XenAPI SDK for the node's Python: %s" % os.path.join(target, name))
        except (IOError, OSError) as error:
            raise OperatorError(
                "Cannot install the XenAPI SDK into %s, where the node's Python (%s) looks for modules: %s."
                % (target, python or sys.executable, error.strerror or error),
                "neutron-rootwrap-xen-dom0 needs `import XenAPI`: make that directory writable for root "
                "(or install the XenAPI 2.14 SDK there by hand) and re-run the task.")


def importable(python=None):
    """Whether the node's Python imports XenAPI from outside the plugin directory."""
    code = "import sys; sys.path.pop(0); import XenAPI"  # not the plugin's copy in the working directory
    return system.run([python or sys.executable, "-c", code], check=False,
                      env=_env_without_plugin_path()).returncode == 0


def _env_without_plugin_path():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env
