"""A test double of lab.xenserver.packs with the same interface; its "ISO" is a JSON file.

Used through LAB_XENSERVER_PACKS so xe and the server exercise their pack paths before (and independently of)
the real ISO reader; tests/lab/test_packs.py covers the real one.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path


class PackRefused(Exception):  # noqa: N818 - named after what XenServer does
    def __init__(self, details):
        super().__init__(details)
        self.details = details


@dataclass
class PackInfo:
    name: str
    version: str
    description: str
    originator: str
    uuid: str | None
    product_version: str
    files: dict = field(default_factory=dict)


def read_pack(iso_path, expect=None):
    try:
        pack = PackInfo(**json.loads(Path(iso_path).read_text()))
    except ValueError:
        raise PackRefused(["INVALID_UPDATE", "The uploaded update package is invalid."]) from None
    if expect == "update" and not pack.uuid:
        raise PackRefused(["INVALID_UPDATE", "missing update.xml: not an update ISO"])
    return pack


def check_applies_to(pack, software_version):
    if pack.product_version != software_version["product_version"]:
        raise PackRefused(["UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION", pack.name,
                           software_version["product_version"], pack.product_version])


def install_payload(pack, root="/"):
    for path, text in pack.files.items():
        target = Path(root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(0o755)


def write_fake_iso(path, product_version="7.1.0", uuid="0f7bd1c4-3e4a-4a63-9d0e-2bd8c2c7b001", version="1.3"):
    plugin = f"import XenAPIPlugin\nXenAPIPlugin.dispatch({{'get_version': lambda s, a: '{version}'}})\n"
    path.write_text(json.dumps({
        "name": "xenapi-plugins-mitaka", "version": version, "description": "OpenStack XenAPI Dom0 plugins",
        "originator": "openstack", "uuid": uuid, "product_version": product_version,
        "files": {"etc/xapi.d/plugins/dom0_plugin_version.py": plugin}}))
    return path
