"""Running local commands: argument lists only (no shell), logged without secrets."""
import logging
import subprocess

from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)


class CommandResult(object):
    def __init__(self, argv, returncode, out, err):
        self.argv = argv
        self.returncode = returncode
        self.out = out
        self.err = err


def run(argv, input_text=None, check=True, env=None):
    """Run argv; input_text goes to stdin (the way to pass a secret). Raises RuntimeError on failure."""
    LOG.debug("run: %s", " ".join(argv))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, universal_newlines=True)
    except OSError as error:
        raise OperatorError("Cannot run %s: %s." % (argv[0], error.strerror),
                            "Install the package that provides %s on this node." % argv[0])
    out, err = proc.communicate(input_text)
    result = CommandResult(argv, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), proc.returncode, err.strip()))
    return result
