"""Files as ensure steps: desired content and mode, written atomically."""
import grp
import os
import tempfile


def read(path):
    try:
        with open(path) as stream:
            return stream.read()
    except (IOError, OSError):
        return None


def write_atomic(path, content, mode=0o644, group=None):
    """Write to a temporary file in the same directory (mode set before any byte), then rename."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        os.fchmod(fd, mode)
        if group is not None:
            os.fchown(fd, -1, grp.getgrnam(group).gr_gid)
        with os.fdopen(fd, "w") as stream:
            stream.write(content)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def mode_of(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def group_of(path):
    try:
        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return None


def ensure_file(run, path, content, mode=0o644, group=None, what=None):
    """The file has exactly this content, mode and group."""
    in_place = (read(path) == content and mode_of(path) == mode
                and (group is None or group_of(path) == group))
    return run.ensure(what or "%s has its content (mode %o)" % (path, mode), in_place,
                      lambda: write_atomic(path, content, mode, group))
