"""Supplemental packs and updates as XenServer reads them: the lab's `xe` installs packs through this module.

`read_pack(iso)` reads an ISO back with osirrox (the real ISO reader) and validates it the way XenServer does
before installing: the metadata file of the format (`XS-REPOSITORY` + `XS-PACKAGES` for
`xe-install-supplemental-pack`, `update.xml` for `xe update-upload`), every attribute XenServer needs, the yum
repodata, and each RPM's size, md5 and header (`rpm -qp`). `PackInfo.check_applies(product, version)` refuses a
pack that requires another product or version. `install_payload(pack, root)` unpacks the RPMs into a Dom0 root
(`rpm2cpio | cpio`), so /etc/xapi.d/plugins holds the files with the modes the RPM gives them.

Refusals raise `PackError`, whose `details` are what XenAPI would put in its Failure: for updates XenServer's own
codes (INVALID_UPDATE, UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION); xe-install-supplemental-pack is a script
that prints an error and exits 1, so its refusals carry the message under the code SUPPACK_INSTALL_FAILED.
"""
import hashlib
import operator
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

LEGACY = "legacy"
UPDATE = "update"
LEGACY_METADATA = ("XS-REPOSITORY", "XS-PACKAGES")
UPDATE_METADATA = "update.xml"
REPOMD = "repodata/repomd.xml"
# The primary volume descriptor starts at sector 16; "CD001" follows its type byte.
ISO9660_MAGIC_OFFSET = 16 * 2048 + 1
ISO9660_MAGIC = b"CD001"
TESTS = {"ge": operator.ge, "gt": operator.gt, "eq": operator.eq, "le": operator.le, "lt": operator.lt}
# XenServer's codes (XenAPI Failure details[0]).
INVALID_UPDATE = "INVALID_UPDATE"
WRONG_SERVER_VERSION = "UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION"
SUPPACK_INSTALL_FAILED = "SUPPACK_INSTALL_FAILED"


class PackError(Exception):
    """XenServer refuses the pack; details = [code, *params] as in a XenAPI Failure."""

    def __init__(self, code: str, *params: str):
        super().__init__(f"{code}: {', '.join(params)}")
        self.code = code
        self.params = list(params)

    @property
    def details(self) -> list[str]:
        return [self.code, *self.params]


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Requirement:
    originator: str
    name: str
    test: str
    product: str
    version: str

    def satisfied_by(self, product: str, version: str) -> bool:
        return product == self.product and TESTS[self.test](version_tuple(version), version_tuple(self.version))

    def __str__(self) -> str:
        return f"{self.product} {self.test} {self.version}"


@dataclass(frozen=True)
class Rpm:
    path: str  # inside the ISO, e.g. "xenapi-plugins-2.1-1.noarch.rpm"
    name: str
    version: str
    release: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class PackInfo:
    iso_path: Path
    format: str  # LEGACY or UPDATE
    name: str
    version: str
    build: str
    originator: str
    description: str
    requires: tuple[Requirement, ...]
    rpms: tuple[Rpm, ...]
    uuid: str | None = None  # updates only: XenServer's identity of an uploaded update
    installation_size: int | None = None
    after_apply_guidance: tuple[str, ...] = ()  # XenAPI's enum set, e.g. ('restartHost',); empty: nothing to do

    @property
    def repo_key(self) -> str:
        """How host.software_version and /etc/xensource/installed-repos name an installed pack."""
        return f"{self.originator}:{self.name}"

    def check_applies(self, product: str, product_version: str) -> None:
        """Refuse, as XenServer does, a pack whose requirements this host does not meet."""
        for requirement in self.requires:
            if requirement.originator == "xs" and not requirement.satisfied_by(product, product_version):
                if self.format == UPDATE:
                    raise PackError(WRONG_SERVER_VERSION, str(self.uuid), product_version, str(requirement))
                raise PackError(SUPPACK_INSTALL_FAILED,
                                f"Error: pack {self.repo_key} {self.version} requires {requirement}, "
                                f"this host is {product} {product_version}")


def check_applies_to(pack: PackInfo, software_version: dict[str, str]) -> None:
    """check_applies with the host's host.software_version record (product_brand, product_version)."""
    pack.check_applies(software_version.get("product_brand", "XenServer"), software_version["product_version"])


def extract_iso(iso_path: Path, target: Path, invalid: str = INVALID_UPDATE) -> None:
    with iso_path.open("rb") as stream:
        stream.seek(ISO9660_MAGIC_OFFSET)
        if stream.read(len(ISO9660_MAGIC)) != ISO9660_MAGIC:
            raise PackError(invalid, f"{iso_path} is not a readable ISO image (no ISO 9660 volume descriptor)")
    result = subprocess.run(["osirrox", "-no_rc", "-report_about", "SORRY", "-indev", str(iso_path),
                             "-extract", "/", str(target)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackError(invalid, f"{iso_path} is not a readable ISO image: {result.stderr.strip()}")


def parse_xml(path: Path, invalid: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise PackError(invalid, f"{path.name} is not valid XML: {error}") from error


def attribute(element: ET.Element, name: str, invalid: str) -> str:
    value = element.get(name)
    if not value:
        raise PackError(invalid, f"<{element.tag}> has no {name} attribute")
    return value


def requirements(element: ET.Element, invalid: str) -> tuple[Requirement, ...]:
    found = []
    for node in element.findall("requires"):
        requirement = Requirement(*(attribute(node, key, invalid)
                                    for key in ("originator", "name", "test", "product", "version")))
        if requirement.test not in TESTS:
            raise PackError(invalid, f"unknown requirement test {requirement.test!r}")
        try:
            version_tuple(requirement.version)
        except ValueError as error:
            raise PackError(invalid, f"requirement version {requirement.version!r} is not a version") from error
        found.append(requirement)
    if not any(requirement.originator == "xs" for requirement in found):
        raise PackError(invalid, "the pack names no XenServer product it applies to (<requires originator=\"xs\">)")
    return tuple(found)


def rpm_header(path: Path, invalid: str) -> tuple[str, str, str, tuple[str, ...]]:
    query = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "%{NAME}\\n%{VERSION}\\n%{RELEASE}\\n",
                            str(path)], capture_output=True, text=True, check=False)
    listing = subprocess.run(["rpm", "-qpl", "--nosignature", str(path)], capture_output=True, text=True,
                             check=False)
    if query.returncode != 0 or listing.returncode != 0:
        raise PackError(invalid, f"{path.name} is not a readable RPM: {query.stderr.strip()}")
    name, version, release = query.stdout.splitlines()[:3]
    return name, version, release, tuple(listing.stdout.split())


def read_rpm(tree: Path, relative: str, invalid: str) -> Rpm:
    path = tree / relative
    if not path.is_file():
        raise PackError(invalid, f"the pack lists {relative} but the ISO does not hold it")
    return Rpm(relative, *rpm_header(path, invalid))


def read_legacy(iso_path: Path, tree: Path) -> PackInfo:
    invalid = SUPPACK_INSTALL_FAILED
    repository = parse_xml(tree / "XS-REPOSITORY", invalid)
    packages = parse_xml(tree / "XS-PACKAGES", invalid)
    if repository.tag != "repository" or packages.tag != "packages":
        raise PackError(invalid, "Error: XS-REPOSITORY or XS-PACKAGES has the wrong root element")
    rpms = []
    for package in packages.findall("package"):
        rpm = read_rpm(tree, (package.text or "").strip(), invalid)
        data = (tree / rpm.path).read_bytes()
        if attribute(package, "type", invalid) != "rpm":
            raise PackError(invalid, f"Error: package {rpm.path} has type {package.get('type')}, not rpm")
        if attribute(package, "md5", invalid) != hashlib.md5(data).hexdigest() or \
                int(attribute(package, "size", invalid)) != len(data):
            raise PackError(invalid, f"Error: {rpm.path} does not match its size and md5 in XS-PACKAGES")
        rpms.append(rpm)
    if not rpms:
        raise PackError(invalid, "Error: XS-PACKAGES lists no package")
    return PackInfo(iso_path=iso_path, format=LEGACY,
                    name=attribute(repository, "name", invalid), version=attribute(repository, "version", invalid),
                    build=repository.get("build", ""), originator=attribute(repository, "originator", invalid),
                    description=(repository.findtext("description") or "").strip(),
                    requires=requirements(repository, invalid), rpms=tuple(rpms))


def read_update(iso_path: Path, tree: Path) -> PackInfo:
    invalid = INVALID_UPDATE
    update = parse_xml(tree / UPDATE_METADATA, invalid)
    if update.tag != "update":
        raise PackError(invalid, f"update.xml has root <{update.tag}>, not <update>")
    size = attribute(update, "installation-size", invalid)
    if not size.isdigit():
        raise PackError(invalid, f"installation-size {size!r} is not a number")
    rpm_paths = sorted(path.name for path in tree.glob("*.rpm"))
    if not rpm_paths:
        raise PackError(invalid, "the update holds no RPM")
    return PackInfo(iso_path=iso_path, format=UPDATE,
                    name=attribute(update, "name-label", invalid), version=attribute(update, "version", invalid),
                    build=update.get("build", ""), originator=attribute(update, "originator", invalid),
                    description=(update.findtext("name-description") or "").strip(),
                    requires=requirements(update, invalid),
                    rpms=tuple(read_rpm(tree, path, invalid) for path in rpm_paths),
                    uuid=attribute(update, "uuid", invalid), installation_size=int(size),
                    after_apply_guidance=tuple(update.get("after-apply-guidance", "").split()))


def read_pack(iso_path: Path | str, expect: str | None = None) -> PackInfo:
    """Read and validate a pack ISO. expect=LEGACY (xe-install-supplemental-pack) or UPDATE (xe update-upload)
    refuses the other format with the error that command gives."""
    iso_path = Path(iso_path)
    invalid = INVALID_UPDATE if expect == UPDATE else SUPPACK_INSTALL_FAILED
    if not iso_path.is_file():
        raise PackError(invalid, f"{iso_path}: no such file")
    with tempfile.TemporaryDirectory(prefix="lab-pack-") as scratch:
        tree = Path(scratch)
        extract_iso(iso_path, tree, invalid)
        is_update = (tree / UPDATE_METADATA).is_file()
        is_legacy = all((tree / name).is_file() for name in LEGACY_METADATA)
        if expect == UPDATE and not is_update:
            raise PackError(INVALID_UPDATE, "missing update.xml: not an update ISO")
        if expect == LEGACY and not is_legacy:
            raise PackError(SUPPACK_INSTALL_FAILED,
                            f"Error: {iso_path.name} is not a supplemental pack (no XS-REPOSITORY/XS-PACKAGES)")
        if not (is_update or is_legacy):
            raise PackError(invalid, f"{iso_path.name} holds neither update.xml nor XS-REPOSITORY/XS-PACKAGES")
        if not (tree / REPOMD).is_file():
            raise PackError(invalid, f"{iso_path.name} has no yum repository ({REPOMD})")
        return read_update(iso_path, tree) if expect == UPDATE or (expect is None and is_update) \
            else read_legacy(iso_path, tree)


def install_payload(pack: PackInfo, root: Path | str = "/") -> list[str]:
    """Unpack every RPM of the pack below root (rpm2cpio | cpio; modes and owners from the RPM).

    Returns the installed paths as the RPMs name them (absolute, e.g. /etc/xapi.d/plugins/netwrap.py)."""
    root = Path(root)
    installed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lab-pack-") as scratch:
        for rpm in pack.rpms:
            local = Path(scratch) / Path(rpm.path).name
            result = subprocess.run(["osirrox", "-no_rc", "-report_about", "SORRY", "-indev", str(pack.iso_path),
                                     "-extract", "/" + rpm.path, str(local)], capture_output=True, text=True,
                                    check=False)
            if result.returncode != 0:
                raise PackError(SUPPACK_INSTALL_FAILED, f"cannot read {rpm.path}: {result.stderr.strip()}")
            cpio_archive = subprocess.run(["rpm2cpio", str(local)], capture_output=True, check=True).stdout
            subprocess.run(["cpio", "-idmu", "--quiet", "--no-absolute-filenames", "-D", str(root)],
                           input=cpio_archive, capture_output=True, check=True)
            installed.extend(rpm.files)
    return installed
