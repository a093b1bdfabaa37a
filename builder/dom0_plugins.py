"""Where the Dom0 plugins come from: the hash-pinned os-xenapi wheel on PyPI, or a source tree (DOM0_PLUGINS_SRC).

Either way the result is a `PluginSet`: file name -> content, plus the version the set reports through its version
plugin (`dom0_plugin_version.py` since os-xenapi / Nova Pike, `nova_plugin_version` in Nova Mitaka).
"""
import ast
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from builder import REPO, wheels

REQUIREMENTS = REPO / "requirements" / "dom0-plugins.txt"
SOURCE_VARIABLE = "DOM0_PLUGINS_SRC"
WHEEL_PLUGINS_DIR = "os_xenapi/dom0/etc/xapi.d/plugins/"
# Inside a Nova or Neutron checkout (or os-xenapi's), the plugins sit in a directory ending like this.
TREE_PLUGINS_DIR = ("etc", "xapi.d", "plugins")
# Newest name first: the version plugin Nova calls before anything else.
VERSION_PLUGINS = ("dom0_plugin_version.py", "nova_plugin_version")
NETWRAP_PLUGINS = ("netwrap.py", "netwrap")
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", "~")


class PluginSourceError(Exception):
    """The plugin source is unusable (missing plugin, bad version file, download failed)."""


@dataclass(frozen=True)
class PluginSet:
    files: dict[str, bytes]
    version: str
    version_plugin: str
    source: str

    @property
    def digest(self) -> str:
        """Identifies the exact content: two builds from the same files get the same pack build id."""
        sha = hashlib.sha256()
        for name in sorted(self.files):
            sha.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return sha.hexdigest()


def plugin_version(source: str, filename: str) -> str:
    """The module-level PLUGIN_VERSION string of a version plugin, read with ast (the plugin is never run)."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        raise PluginSourceError(f"{filename} is not readable Python: {error}") from error
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PLUGIN_VERSION"
                                                for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    raise PluginSourceError(f"{filename} has no PLUGIN_VERSION = \"x.y\" assignment")


def plugin_set(files: dict[str, bytes], source: str) -> PluginSet:
    """Check the set holds Nova's version plugin and Neutron's netwrap, and read its version."""
    version_plugin = next((name for name in VERSION_PLUGINS if name in files), None)
    if version_plugin is None:
        raise PluginSourceError(f"{source} has no version plugin ({' or '.join(VERSION_PLUGINS)}): "
                                "is it a Nova (or os-xenapi) tree?")
    if not any(name in files for name in NETWRAP_PLUGINS):
        raise PluginSourceError(f"{source} has no Neutron netwrap plugin ({' or '.join(NETWRAP_PLUGINS)}): "
                                "add the Neutron tree next to Nova's")
    version = plugin_version(files[version_plugin].decode("utf-8"), version_plugin)
    return PluginSet(files=files, version=version, version_plugin=version_plugin, source=source)


def from_wheel(wheel: Path, source: str) -> PluginSet:
    files = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(WHEEL_PLUGINS_DIR) and not name.endswith("/"):
                relative = name[len(WHEEL_PLUGINS_DIR):]
                if "/" not in relative and not relative.endswith(SKIPPED_SUFFIXES):
                    files[relative] = archive.read(name)
    return plugin_set(files, source)


def download_wheel(requirements: Path = REQUIREMENTS, downloads: Path = wheels.DOWNLOADS) -> Path:
    """The pinned os-xenapi wheel, hash-checked (builder.wheels); cached in .work/downloads."""
    try:
        return wheels.download(requirements, downloads)
    except wheels.WheelError as error:
        raise PluginSourceError(str(error)) from error


def from_pypi() -> PluginSet:
    wheel = download_wheel()
    name_version = "-".join(wheel.name.split("-")[:2])
    return from_wheel(wheel, f"{name_version.replace('_', '-')} (PyPI, sha256-pinned)")


def plugin_dirs(tree: Path) -> list[Path]:
    """Every etc/xapi.d/plugins below tree (a Nova and a Neutron checkout side by side give two), or tree itself."""
    found = sorted(path for path in tree.rglob("plugins")
                   if path.is_dir() and path.parts[-3:] == TREE_PLUGINS_DIR and ".git" not in path.parts)
    return found or [tree]


def from_tree(tree: Path) -> PluginSet:
    if not tree.is_dir():
        raise PluginSourceError(f"{SOURCE_VARIABLE}={tree} is not a directory")
    files: dict[str, bytes] = {}
    origin: dict[str, Path] = {}
    for directory in plugin_dirs(tree):
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.name.endswith(SKIPPED_SUFFIXES) or path.name.startswith((".", "README")):
                continue
            content = path.read_bytes()
            if path.name in files and files[path.name] != content:
                raise PluginSourceError(f"two different plugins named {path.name}: {origin[path.name]} and {path}")
            files[path.name] = content
            origin[path.name] = path
    return plugin_set(files, f"source tree {tree}")


def load() -> PluginSet:
    """The tree named by DOM0_PLUGINS_SRC when set, else the pinned os-xenapi wheel."""
    tree = os.environ.get(SOURCE_VARIABLE)
    return from_tree(Path(tree).resolve()) if tree else from_pypi()
