"""INI files as OpenStack services read them (oslo.config style), edited in place.

Only the keys we set change: other sections, keys, comments and blank lines stay as they are. A key set
twice in a section (oslo.config takes the last one) is kept once, where its last occurrence was.
"""
import grp
import re

from xenserver_plugin import files
from xenserver_plugin.errors import OperatorError

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEY = re.compile(r"^([^\s#;=][^=]*?)\s*=(.*)$")


class _Line(object):
    def __init__(self, text, section, key=None, value=None):
        self.text = text
        self.section = section
        self.key = key
        self.value = value


class IniText(object):
    """The lines of one INI file, with the section and key each line belongs to."""

    def __init__(self, text):
        self.lines = []
        section = None
        for raw in (text or "").splitlines():
            header = _SECTION.match(raw)
            if header:
                section = header.group(1).strip()
                self.lines.append(_Line(raw, section))
                continue
            key = _KEY.match(raw)
            if key:
                self.lines.append(_Line(raw, section, key.group(1).strip(), key.group(2).strip()))
            else:
                self.lines.append(_Line(raw, section))

    def get(self, section, key):
        """The value oslo.config would read (the last occurrence), or None when the key is absent."""
        values = [line.value for line in self.lines if line.section == section and line.key == key]
        return values[-1] if values else None

    def set(self, section, key, value):
        """Set section.key = value; returns True when the text changed."""
        value = "" if value is None else str(value)
        wanted = "%s = %s" % (key, value) if value else "%s =" % key
        matches = [i for i, line in enumerate(self.lines) if line.section == section and line.key == key]
        if matches:
            last = matches[-1]
            changed = len(matches) > 1 or self.lines[last].value != value
            if not changed:
                return False
            self.lines[last] = _Line(wanted, section, key, value)
            for index in reversed(matches[:-1]):
                del self.lines[index]
            return True
        self.lines.insert(self._insert_position(section, key), _Line(wanted, section, key, value))
        return True

    def _insert_position(self, section, key):
        """Under its commented-out sample (`#key = ...`), else after the last key of the section's last
        block, else right after its header; else in a new section at the end."""
        sample = re.compile(r"^[#;]\s*%s\s*=" % re.escape(key))
        samples = [i for i, line in enumerate(self.lines) if line.section == section and sample.match(line.text)]
        if samples:
            return samples[-1] + 1
        headers = [i for i, line in enumerate(self.lines)
                   if line.section == section and line.key is None and _SECTION.match(line.text)]
        if not headers:
            if self.lines and self.lines[-1].text.strip():
                self.lines.append(_Line("", self.lines[-1].section))
            self.lines.append(_Line("[%s]" % section, section))
            return len(self.lines)
        start = headers[-1]
        position = start + 1
        for index in range(start + 1, len(self.lines)):
            line = self.lines[index]
            if line.section != section or (line.key is None and _SECTION.match(line.text)):
                break
            if line.key is not None:
                position = index + 1
        return position

    def text(self):
        return "".join(line.text + "\n" for line in self.lines)


def apply_options(text, options):
    """(new text, [(section, key)] that changed) for options = [(section, key, value), ...]."""
    ini = IniText(text)
    changed = [(section, key) for section, key, value in options if ini.set(section, key, value)]
    return ini.text(), changed


def _describe(options, changed, secrets):
    values = dict(((section, key), value) for section, key, value in options)
    parts = []
    for section, key in changed:
        shown = "(secret)" if (section, key) in secrets else (values[(section, key)] or "(empty)")
        parts.append("[%s] %s = %s" % (section, key, shown))
    return ", ".join(parts)


def group_exists(group):
    try:
        grp.getgrnam(group)
        return True
    except KeyError:
        return False


def require_group(group, service):
    if group is not None and not group_exists(group):
        raise OperatorError(
            "The group %s does not exist on this node, so %s cannot read its configuration." % (group, service),
            "Deploy the node with Fuel first (it installs %s), then re-run the task." % service)


def ensure_options(run, path, options, mode=None, group=None, secrets=(), service=None):
    """The INI file at path has these options (other content kept), with this mode and group.

    mode None keeps the file's mode (0644 for a new file). Secret values never appear in the description,
    hence never in a log. Returns True when something changed (or would, in a dry run).
    """
    require_group(group, service or path)
    current = files.read(path)
    new_text, changed = apply_options(current, options)
    current_mode = files.mode_of(path)
    target_mode = mode if mode is not None else (current_mode if current_mode is not None else 0o644)
    problems = []
    if changed or current is None:
        problems.append(_describe(options, changed, set(secrets)) or "created")
    if current is not None and current_mode != target_mode:
        problems.append("mode %04o" % target_mode)
    if current is not None and group is not None and files.group_of(path) != group:
        problems.append("group %s" % group)
    return run.ensure("%s: %s" % (path, "; ".join(problems)) if problems else "%s is configured" % path,
                      not problems,
                      lambda: files.write_atomic(path, new_text, target_mode, group))
