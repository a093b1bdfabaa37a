"""Build the XenServer TestVM image: a tiny Linux (Debian's kernel + busybox) booted by pygrub, as a VHD in a tgz.

Usage: python -m builder.testvm --out .work/artifacts/plugin/deployment_scripts/testvm

The image is what XenServer's Glance plugin expects of `container_format=ovf, disk_format=vhd`: a gzipped tar
holding `0.vhd`, a dynamic VHD whose first partition (ext2) has /boot/grub/grub.cfg and menu.lst naming the
kernel and initramfs beside them. The initramfs loads the Xen (and, for QEMU, virtio/e1000) drivers, takes a
DHCP address on eth0, pings the DHCP server and gives a shell prompt, like CirrOS.

Reproducible: pinned and hash-checked packages, one timestamp (SOURCE_DATE_EPOCH) for every file, fixed UUIDs
and hash seed, sorted archives; two builds give the same bytes. Nothing needs root: no loop mounts.
"""
import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builder import REPO, source_date_epoch

WORK = REPO / ".work"
DOWNLOADS = WORK / "downloads" / "testvm"
BUILD = WORK / "build" / "testvm"
FILES = Path(__file__).resolve().parent / "testvm"
DEFAULT_OUT = WORK / "artifacts" / "plugin" / "deployment_scripts" / "testvm"
IMAGE_NAME = "testvm.tgz"
METADATA_NAME = "testvm.json"

# 2024-01-01T00:00:00Z unless the caller sets SOURCE_DATE_EPOCH.
DEFAULT_EPOCH = 1704067200
FS_UUID = "5e57f00d-0000-4000-8000-000000000001"
FS_HASH_SEED = "5e57f00d-0000-4000-8000-000000000002"
VHD_UUID = bytes.fromhex("5e57f00d000040008000000000000003")
MBR_LABEL_ID = "0x5e57f00d"
PARTITION_START = 1024 * 1024

KERNEL_ABI = "6.1.0-50-amd64"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str


# Debian bookworm's main archive (not bookworm-security, whose versions vanish at each update), so the
# pins keep resolving. To move on: `apt-cache show NAME=VERSION | grep SHA256`.
KERNEL = Package(f"linux-image-{KERNEL_ABI}", "6.1.176-1",
                 "7b5597492a0a65aee61985a492e6bcc3f2cde830072a0e3b3d8c7e1b90279bd3")
BUSYBOX = Package("busybox-static", "1:1.35.0-4+deb12u1+b1",
                  "3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744")

# Xen's PV boot loader (pygrub) and its filesystem readers, unpacked (not installed) to test the image with
# the program XenServer boots it with.
XEN_VERSION = "4.17.5+72-g01140da4e8-1"
PYGRUB_PACKAGES = (
    Package("xen-utils-4.17", XEN_VERSION, "2e0dc8bf6f08bd655b58ed1150ff97790637b641c79f9c8331ee242d651ae935"),
    Package("libxenmisc4.17", XEN_VERSION, "a4fa17c1b2ebcba786fb836668544adb3f3fb3fe364855d2185d8ffa62c53f9a"),
)

# Xen PV front ends for XenServer, virtio and e1000 for the QEMU boot test; dependencies are added.
MODULES = ("xen-netfront", "xen-blkfront", "virtio_pci", "virtio_net", "virtio_blk", "e1000")


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, check=True, capture_output=True, **kwargs)
    except FileNotFoundError:
        sys.exit(f"{argv[0]} not found: install the TestVM build tools (see builder/sysdeps.py)")
    except subprocess.CalledProcessError as error:
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else error.stderr
        sys.exit(f"{' '.join(argv)} failed: {stderr.strip()}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(package: Package, downloads: Path = DOWNLOADS) -> Path:
    """The package's .deb from Debian's archive (apt-get download), checked against its pinned hash."""
    downloads.mkdir(parents=True, exist_ok=True)
    for deb in downloads.glob(f"{package.name}_*.deb"):
        if sha256_of(deb) == package.sha256:
            return deb
        deb.unlink()
    argv = ["apt-get", "download", f"{package.name}={package.version}"]
    result = subprocess.run(argv, cwd=downloads, capture_output=True, text=True)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine may have no package lists yet: fetch them once and retry.
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        result = subprocess.run(argv, cwd=downloads, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"cannot download {package.name}={package.version} from Debian's archive: "
                 f"{result.stderr.strip()}\nRun `apt-get update`; if the version is gone from the archive, "
                 "pin the current one in builder/testvm.py.")
    debs = list(downloads.glob(f"{package.name}_*.deb"))
    if len(debs) != 1 or sha256_of(debs[0]) != package.sha256:
        sys.exit(f"{package.name}={package.version}: downloaded file does not match the pinned sha256")
    return debs[0]


def extract(deb: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    run(["dpkg-deb", "-x", str(deb), str(target)])
    return target


def module_paths(modules_dir: Path) -> dict[str, Path]:
    """Module name (dashes as underscores, as the kernel names them) -> .ko file."""
    return {ko.name.removesuffix(".ko").replace("-", "_"): ko for ko in modules_dir.rglob("*.ko")}


def load_order(wanted: tuple[str, ...], modules_dir: Path) -> list[Path]:
    """The wanted modules and their dependencies (modinfo's `depends`), each after what it needs."""
    paths = module_paths(modules_dir)
    order: list[Path] = []

    def visit(name: str) -> None:
        ko = paths.get(name.replace("-", "_"))
        if ko is None:
            sys.exit(f"kernel module {name} not found in {KERNEL.name}")
        if ko in order:
            return
        depends = run(["modinfo", "-F", "depends", str(ko)], text=True).stdout.strip()
        for dependency in filter(None, depends.split(",")):
            visit(dependency)
        order.append(ko)

    for name in wanted:
        visit(name)
    return order


def kernel_parts(cache_root: Path = WORK / "build") -> tuple[Path, list[Path]]:
    """vmlinuz and the wanted modules in load order, unpacked once per kernel package and module list.

    Unpacking the whole kernel package (400 MB of modules) costs most of a build; only these files are
    kept, under a name derived from the package hash and the module list."""
    key = hashlib.sha256(f"{KERNEL.sha256} {' '.join(MODULES)}".encode()).hexdigest()[:16]
    cache = cache_root / f"testvm-kernel-{key}"
    if not (cache / "modules.load").exists():
        cache_root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="testvm-kernel-", dir=cache_root))
        try:
            unpacked = extract(download(KERNEL), scratch / "package")
            modules = load_order(MODULES, unpacked / "lib" / "modules" / KERNEL_ABI / "kernel")
            kept = scratch / "kept"
            (kept / "modules").mkdir(parents=True)
            shutil.copy(unpacked / "boot" / f"vmlinuz-{KERNEL_ABI}", kept / "vmlinuz")
            for ko in modules:
                shutil.copy(ko, kept / "modules" / ko.name)
            (kept / "modules.load").write_text("".join(f"{ko.name}\n" for ko in modules))
            try:
                kept.rename(cache)
            except OSError:
                pass  # another build got there first with the same files
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    names = (cache / "modules.load").read_text().split()
    return cache / "vmlinuz", [cache / "modules" / name for name in names]


def normalise_tree(root: Path, timestamp: int) -> None:
    """Same modes and times on every build (umask and build time must not leak into the image)."""
    for path in sorted(root.rglob("*"), reverse=True):
        if not path.is_symlink():
            executable = path.is_dir() or os.access(path, os.X_OK)
            path.chmod(0o755 if executable else 0o644)
        os.utime(path, (timestamp, timestamp), follow_symlinks=False)
    os.utime(root, (timestamp, timestamp))


def initramfs_tree(busybox_root: Path, modules: list[Path], tree: Path, timestamp: int) -> Path:
    if tree.exists():
        shutil.rmtree(tree)
    for directory in ("bin", "etc", "lib/modules", "proc", "sys", "dev", "run", "tmp", "root"):
        (tree / directory).mkdir(parents=True)
    shutil.copy2(busybox_root / "bin" / "busybox", tree / "bin" / "busybox")
    (tree / "bin" / "sh").symlink_to("busybox")
    shutil.copy(FILES / "init", tree / "init")
    shutil.copy(FILES / "udhcpc.script", tree / "etc" / "udhcpc.script")
    shutil.copy(FILES / "profile", tree / "etc" / "profile")
    for path in (tree / "init", tree / "etc" / "udhcpc.script"):
        path.chmod(0o755)
    names = []
    for ko in modules:
        name = ko.name.removesuffix(".ko")
        shutil.copy(ko, tree / "lib" / "modules" / ko.name)
        names.append(name)
    (tree / "etc" / "modules").write_text("".join(f"{name}\n" for name in names))
    normalise_tree(tree, timestamp)
    return tree


def cpio_newc(tree: Path) -> bytes:
    """The tree as a sorted newc archive, owned by root, inodes renumbered, device numbers dropped."""
    names = sorted(str(path.relative_to(tree)) for path in tree.rglob("*"))
    listing = "".join(f"{name}\n" for name in [".", *names])
    return run(["cpio", "--create", "--format=newc", "--reproducible", "--owner=0:0", "--quiet"],
               cwd=tree, input=listing.encode()).stdout


def compress_xz(data: bytes) -> bytes:
    """xz as the kernel's initramfs unpacker wants it (CRC32 check)."""
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                         filters=[{"id": lzma.FILTER_LZMA2, "preset": 9}])


def boot_tree(vmlinuz: Path, initrd: bytes, tree: Path, timestamp: int) -> Path:
    """/boot of the image's filesystem: kernel, initramfs and the menus pygrub reads."""
    if tree.exists():
        shutil.rmtree(tree)
    grub = tree / "boot" / "grub"
    grub.mkdir(parents=True)
    shutil.copy(vmlinuz, tree / "boot" / f"vmlinuz-{KERNEL_ABI}")
    (tree / "boot" / f"initrd.img-{KERNEL_ABI}").write_bytes(initrd)
    for menu in ("grub.cfg", "menu.lst"):
        (grub / menu).write_text((FILES / menu).read_text().replace("@KERNEL@", KERNEL_ABI))
    normalise_tree(tree, timestamp)
    return tree


def filesystem_size(tree: Path) -> int:
    """Content plus a quarter for metadata and headroom, in whole MiB."""
    content = sum(path.stat().st_size for path in tree.rglob("*") if path.is_file())
    mib = 1024 * 1024
    return ((content * 5 // 4 + 2 * mib) // mib + 1) * mib


def make_filesystem(tree: Path, image: Path, size: int, timestamp: int) -> Path:
    """An ext2 filesystem populated from `tree` without mounting; ext2 with old features so pygrub reads it."""
    image.unlink(missing_ok=True)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(timestamp), MKE2FS_CONFIG="/dev/null")
    run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-I", "128", "-m", "0", "-L", "testvm",
         "-O", "^resize_inode,^dir_index,^ext_attr", "-U", FS_UUID, "-E", f"hash_seed={FS_HASH_SEED},root_owner=0:0",
         "-d", str(tree), str(image), f"{size // 1024}k"], env=env)
    # mke2fs -d copies each file's ctime (the build's wall clock); set it like the other times.
    paths = ["/", *sorted("/" + str(path.relative_to(tree)) for path in tree.rglob("*"))]
    script = "".join(f"set_inode_field {path} {field} @{timestamp}\n" for path in paths for field in ("ctime", "atime"))
    result = run(["debugfs", "-w", "-f", "-", str(image)], input=script.encode(), env=env)
    # debugfs exits 0 when a command fails; its stderr then holds more than the version banner.
    errors = [line for line in result.stderr.decode().splitlines() if line and not line.startswith("debugfs ")]
    if errors:
        sys.exit(f"debugfs could not set the times in {image}: {errors[0]}")
    return image


def make_disk(filesystem: Path, disk: Path) -> Path:
    """A raw disk: an MBR with one bootable Linux partition holding `filesystem`."""
    size = PARTITION_START + filesystem.stat().st_size
    with disk.open("wb") as stream:
        stream.truncate(size)
    layout = f"label: dos\nlabel-id: {MBR_LABEL_ID}\nstart={PARTITION_START // 512}, type=83, bootable\n"
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(disk)], input=layout.encode())
    with disk.open("r+b") as stream, filesystem.open("rb") as source:
        stream.seek(PARTITION_START)
        shutil.copyfileobj(source, stream)
    return disk


def vhd_checksum(structure: bytes | bytearray, field: int) -> int:
    """VHD checksum: ones' complement of the byte sum, the checksum field counted as zero."""
    total = sum(structure[:field]) + sum(structure[field + 4:])
    return ~total & 0xFFFFFFFF


def pin_vhd_footer(vhd: Path, timestamp: int) -> None:
    """qemu-img stamps the footer with the time and a random UUID: make both fixed (copy at 0 and at the end)."""
    vhd_epoch = 946684800  # the VHD timestamp counts seconds from 2000-01-01
    with vhd.open("r+b") as stream:
        size = stream.seek(0, io.SEEK_END)
        for offset in (0, size - 512):
            stream.seek(offset)
            footer = bytearray(stream.read(512))
            if footer[:8] != b"conectix":
                sys.exit(f"{vhd}: no VHD footer at {offset}")
            struct.pack_into(">I", footer, 24, max(timestamp - vhd_epoch, 0))
            footer[68:84] = VHD_UUID
            struct.pack_into(">I", footer, 64, vhd_checksum(footer, 64))
            stream.seek(offset)
            stream.write(footer)


def make_vhd(disk: Path, vhd: Path, timestamp: int) -> Path:
    vhd.unlink(missing_ok=True)
    run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", str(disk), str(vhd)])
    pin_vhd_footer(vhd, timestamp)
    return vhd


def pack(vhd: Path, image: Path, timestamp: int) -> Path:
    """A gzipped tar holding only `0.vhd`, as XenServer's Glance plugin unpacks it."""
    member = tarfile.TarInfo("0.vhd")
    member.size = vhd.stat().st_size
    member.mtime = timestamp
    member.mode = 0o644
    partial = image.with_suffix(".partial")
    with partial.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=timestamp) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as archive, vhd.open("rb") as source:
            archive.addfile(member, source)
    partial.replace(image)
    return image


def describe(image: Path, vhd: Path) -> dict:
    """What the controller task uploads and checks in Glance."""
    data = image.read_bytes()
    return {
        "name": "TestVM",
        "file": image.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "disk_format": "vhd",
        "container_format": "ovf",
        "properties": {"vm_mode": "xen"},
        "virtual_size": vhd_virtual_size(vhd),
        "kernel": f"{KERNEL.name} {KERNEL.version}",
        "busybox": f"{BUSYBOX.name} {BUSYBOX.version}",
    }


def vhd_virtual_size(vhd: Path) -> int:
    info = json.loads(run(["qemu-img", "info", "--output=json", str(vhd)], text=True).stdout)
    return int(info["virtual-size"])


@dataclass(frozen=True)
class BootChoice:
    kernel: Path
    ramdisk: Path
    args: str


def pygrub(disk: Path, out: Path, tools: Path = WORK / "build" / f"pygrub-{XEN_VERSION}") -> BootChoice:
    """What Xen's pygrub picks from a raw disk (its `simple` output), the kernel and ramdisk copied to out."""
    xen = tools / "usr" / "lib" / "xen-4.17"
    if not (xen / "bin" / "pygrub").exists():
        for package in PYGRUB_PACKAGES:
            run(["dpkg-deb", "-x", str(download(package)), str(tools)])
    libs = xen / "lib" / "x86_64-linux-gnu"
    env = dict(os.environ, PYTHONPATH=str(xen / "lib" / "python"), LD_LIBRARY_PATH=str(libs),
               XEN_FSIMAGE_FSDIR=str(libs / "xenfsimage"))
    out.mkdir(parents=True, exist_ok=True)
    answer = run([sys.executable if sys.version_info[:2] == (3, 11) else "python3", str(xen / "bin" / "pygrub"),
                  "--quiet", "--output-format=simple", f"--output-directory={out}", str(disk)],
                 env=env, text=True).stdout
    fields = dict(line.split(" ", 1) for line in answer.splitlines() if " " in line)
    return BootChoice(Path(fields["kernel"]), Path(fields["ramdisk"]), fields.get("args", "").strip())


def build(out: Path, work: Path = BUILD) -> Path:
    timestamp = source_date_epoch(DEFAULT_EPOCH)
    work.mkdir(parents=True, exist_ok=True)
    vmlinuz, modules = kernel_parts()
    busybox_root = extract(download(BUSYBOX), work / "busybox")
    initrd = compress_xz(cpio_newc(initramfs_tree(busybox_root, modules, work / "initramfs", timestamp)))
    boot = boot_tree(vmlinuz, initrd, work / "root", timestamp)
    filesystem = make_filesystem(boot, work / "filesystem.ext2", filesystem_size(boot), timestamp)
    disk = make_disk(filesystem, work / "disk.raw")
    vhd = make_vhd(disk, work / "0.vhd", timestamp)
    out.mkdir(parents=True, exist_ok=True)
    image = pack(vhd, out / IMAGE_NAME, timestamp)
    (out / METADATA_NAME).write_text(json.dumps(describe(image, vhd), indent=2, sort_keys=True) + "\n")
    for intermediate in (filesystem, disk):
        intermediate.unlink()
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for testvm.tgz and testvm.json")
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
