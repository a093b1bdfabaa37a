"""Running local commands: argument lists only (no shell), logged without secrets."""
import logging
import os
import subprocess
import tempfile
import threading

import six

from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)


class CommandResult(object):
    def __init__(self, argv, returncode, out, err, timed_out=False):
        self.argv = argv
        self.returncode = returncode
        self.out = out
        self.err = err
        self.timed_out = timed_out

    @property
    def ok(self):
        return self.returncode == 0 and not self.timed_out


def _read_back(stream):
    """A command's output as the native str of this Python (bytes on 2.7, text on 3)."""
    stream.seek(0)
    data = stream.read()
    stream.close()
    if six.PY2:
        return data
    return data.decode("utf-8", "replace")


def _as_bytes(text):
    """stdin for a command; six.ensure_binary would need six 1.12, Fuel 9 nodes have 1.10."""
    if isinstance(text, six.text_type):
        return text.encode("utf-8")
    return text


def run(argv, input_text=None, check=True, env=None, timeout=None, new_session=False, stdin_path=None):
    """Run argv; input_text goes to stdin (the way to pass a secret). Raises RuntimeError on failure.

    Output is collected in unlinked temporary files, not pipes, so a command that leaves a daemon behind
    (ssh -f, dhclient) cannot hang the task by holding the pipe open. `timeout` (seconds) kills the
    command; `new_session` runs it in its own session without a controlling terminal (setsid).
    `env` is never logged: it is how a secret reaches a helper without touching argv or disk.
    `stdin_path` streams a (binary, possibly large) file to stdin instead of input_text.
    """
    LOG.debug("run: %s", " ".join(argv))
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    in_file = open(stdin_path, "rb") if stdin_path else None
    try:
        proc = subprocess.Popen(argv, stdin=in_file or subprocess.PIPE, stdout=out_file, stderr=err_file, env=env,
                                close_fds=True, preexec_fn=os.setsid if new_session else None)
    except OSError as error:
        out_file.close()
        err_file.close()
        if in_file:
            in_file.close()
        raise OperatorError("Cannot run %s: %s." % (argv[0], error.strerror),
                            "Install the package that provides %s on this node." % argv[0])
    expired = []
    timer = None
    if timeout:
        def kill():
            expired.append(True)
            try:
                proc.kill()
            except OSError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
    try:
        if in_file:
            proc.wait()
        else:
            proc.communicate(_as_bytes(input_text) if input_text is not None else None)
    finally:
        if timer:
            timer.cancel()
            timer.join()  # a Timer thread alive at exit makes Python 2.7 print a spurious traceback
        if in_file:
            in_file.close()
    result = CommandResult(argv, proc.returncode, _read_back(out_file), _read_back(err_file), bool(expired))
    if result.timed_out:
        LOG.debug("timed out after %ss: %s", timeout, argv[0])
    if check and not result.ok:
        raise RuntimeError("%s %s: %s" % (" ".join(argv),
                                          "timed out after %ss" % timeout if result.timed_out
                                          else "exited %d" % proc.returncode, result.err.strip()))
    return result
