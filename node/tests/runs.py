"""Runs for tests: a task's change lines go to a buffer, not to the test's stdout."""
import io

from xenserver_plugin import steps


def native_buffer():
    """A buffer of the native str type, as sys.stdout takes (bytes on Python 2.7, text on 3)."""
    return io.StringIO() if str is not bytes else io.BytesIO()


def make_run(dry_run=False):
    return steps.Run(dry_run=dry_run, out=native_buffer())
