"""Supplemental packs and updates on the simulated host (XenServer's pool_update, installed-repos).

What this module expects from `lab.xenserver.packs` (the supplemental-pack work provides it):
  read_pack(iso_path, expect='legacy'|'update') -> PackInfo   reads and validates the ISO; refusals raise an
      exception carrying `.details` (a XenAPI error list, e.g. ['INVALID_UPDATE', ...])
  check_applies_to(pack, software_version)   raises the same way when the pack is for another product/version
  install_payload(pack, root='/')            installs the pack's RPM payload below `root`
  PackInfo attributes used here: name, version, description, originator, uuid (update.xml's; None for a legacy
  pack), and optionally build, installation_size, after_apply_guidance.
"""

from __future__ import annotations

import importlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.xenserver.api import XenAPIService

INSTALLED_REPOS = Path("etc/xensource/installed-repos")


def packs_module() -> Any:
    """lab.xenserver.packs, or the module LAB_XENSERVER_PACKS names (a test double)."""
    return importlib.import_module(os.environ.get("LAB_XENSERVER_PACKS", "lab.xenserver.packs"))


def read_checked_pack(iso_path: Path, software_version: dict[str, str], expect: str) -> Any:
    """read_pack + the product check; errors come out as lists of XenAPI error strings (PackError).

    expect: 'legacy' (xe-install-supplemental-pack) or 'update' (xe update-upload)."""
    packs = packs_module()
    try:
        pack = packs.read_pack(iso_path, expect=expect)
        check = getattr(packs, "check_applies_to", None)
        if check is not None:
            check(pack, software_version)
    except Exception as error:  # noqa: BLE001 - any refusal of the pack reaches the caller as XenServer's error
        details = getattr(error, "details", None) or ["INVALID_UPDATE", str(error)]
        raise PackError([str(d) for d in details]) from error
    return pack


class PackError(Exception):
    def __init__(self, details: list[str]) -> None:
        super().__init__(details)
        self.details = details


def repository_xml(pack: Any) -> str:
    """The XS-REPOSITORY record XenServer keeps for an installed pack (installed-repos/<originator>:<name>)."""
    repo = ET.Element("repository", originator=pack.originator, name=pack.name, version=pack.version,
                      build=str(getattr(pack, "build", "") or ""))
    ET.SubElement(repo, "description").text = pack.description
    return ET.tostring(repo, encoding="unicode") + "\n"


def record_installed(pack: Any, root: Path) -> Path:
    directory = root / INSTALLED_REPOS / f"{pack.originator}:{pack.name}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "XS-REPOSITORY").write_text(repository_xml(pack))
    return directory


def installed_packs(root: Path) -> dict[str, str]:
    """software_version entries for installed packs: '<originator>:<name>' -> '<description>, version <v>'."""
    entries = {}
    for path in sorted((root / INSTALLED_REPOS).glob("*/XS-REPOSITORY")):
        repo = ET.fromstring(path.read_text())
        key = f"{repo.get('originator')}:{repo.get('name')}"
        text = f"{repo.findtext('description', '')}, version {repo.get('version')}"
        if repo.get("build"):
            text += f", build {repo.get('build')}"
        entries[key] = text
    return entries


def register(service: XenAPIService) -> None:
    from lab.xenserver.api import XenAPIError

    state = service.state

    def pack_from_vdi(vdi: str) -> Any:
        path = service.vdi_path(vdi)
        if not path.exists():
            raise XenAPIError("INVALID_UPDATE", "The uploaded update package is invalid.")
        try:
            return read_checked_pack(path, state.host["software_version"], expect="update")
        except PackError as error:
            raise XenAPIError(*error.details) from None

    def introduce(session: str, vdi: str) -> str:
        service._check(("VDI", vdi))
        pack = pack_from_vdi(vdi)
        if not pack.uuid:
            raise XenAPIError("INVALID_UPDATE", "The uploaded update package is invalid: no update.xml")
        for rec in state.records("pool_update").values():
            if rec["uuid"] == pack.uuid:
                raise XenAPIError("UPDATE_ALREADY_EXISTS", pack.uuid)
        return state.add(
            "pool_update", uuid=pack.uuid, name_label=pack.name, name_description=pack.description,
            version=pack.version, installation_size=str(getattr(pack, "installation_size", 0) or 0),
            after_apply_guidance=list(getattr(pack, "after_apply_guidance", []) or []), vdi=vdi,
        )

    def precheck(session: str, update: str, host: str) -> str:
        service._check(("pool_update", update), ("host", host))
        if host in state.get("pool_update", update)["hosts"]:
            raise XenAPIError("UPDATE_ALREADY_APPLIED", update)
        return "ok"

    def apply(session: str, update: str, host: str) -> str:
        precheck(session, update, host)
        record = state.get("pool_update", update)
        pack = pack_from_vdi(record["vdi"])
        packs_module().install_payload(pack, root=str(service.settings.dom0_root))
        record_installed(pack, service.settings.dom0_root)
        record["hosts"].append(host)
        state.link("host", host, "updates", update)
        refresh_pack_info(session, host)
        return ""

    def pool_apply(session: str, update: str) -> str:
        return apply(session, update, state.host_ref)

    def refresh_pack_info(session: str, host: str) -> str:
        service._check(("host", host))
        version = state.get("host", host)["software_version"]
        for key in [k for k in version if ":" in k]:
            del version[key]
        version.update(installed_packs(service.settings.dom0_root))
        return ""

    service.register_call("pool_update", "introduce", introduce)
    service.register_call("pool_update", "precheck", precheck)
    service.register_call("pool_update", "apply", apply)
    service.register_call("pool_update", "pool_apply", pool_apply)
    service.register_call("host", "refresh_pack_info", refresh_pack_info)
