"""Files in Dom0 as ensure steps, over the task's one SSH connection (xenserver_plugin.dom0.Dom0)."""

# Read mode and content in one round trip; the first line is the octal mode.
_READ = 'stat -c %a "$1" && cat "$1"'
# Write next to the target with its mode set before any byte, then rename: never half-written.
_WRITE = ('set -e; mkdir -p "$(dirname "$1")"; tmp="$1.fuel-tmp"; rm -f "$tmp"; '
          '(umask 077; cat > "$tmp"); chmod "$2" "$tmp"; mv -f "$tmp" "$1"')


def read(dom0, path):
    """(mode, content) of a Dom0 file, or (None, None) when it does not exist."""
    result = dom0.ssh(["sh", "-c", _READ, "sh", path], check=False)
    if result.returncode != 0:
        return None, None
    mode, _, content = result.out.partition("\n")
    return int(mode.strip(), 8), content


def write(dom0, path, content, mode):
    dom0.ssh(["sh", "-c", _WRITE, "sh", path, "%o" % mode], input_text=content)


def ensure_file(run, dom0, path, content, mode=0o644, what=None):
    current_mode, current = read(dom0, path)
    return run.ensure(what or "Dom0 %s has its content (mode %04o)" % (path, mode),
                      current == content and current_mode == mode,
                      lambda: write(dom0, path, content, mode))


def ensure_absent(run, dom0, path, what=None):
    exists = dom0.ssh(["test", "-e", path], check=False).returncode == 0
    return run.ensure(what or "Dom0 %s removed" % path, not exists,
                      lambda: dom0.ssh(["rm", "-f", path]))
