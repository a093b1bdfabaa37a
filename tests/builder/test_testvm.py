"""The TestVM image: archive layout, VHD structure, the filesystem pygrub reads, a QEMU boot, reproducibility.

Builds the image once (about 15 s, packages cached in .work/downloads/testvm) into a temporary directory.
"""
import hashlib
import json
import lzma
import os
import re
import selectors
import shutil
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from builder import testvm

# Debian package of each tool the build and these tests use; a missing one fails the tests (not a skip, so
# a machine without them cannot pass quietly).
TOOLS = {"apt-get": "apt", "dpkg-deb": "dpkg", "modinfo": "kmod", "cpio": "cpio", "mke2fs": "e2fsprogs",
         "debugfs": "e2fsprogs", "e2fsck": "e2fsprogs", "sfdisk": "fdisk", "qemu-img": "qemu-utils",
         "qemu-system-x86_64": "qemu-system-x86"}

BOOT_TIMEOUT = 180


def test_build_tools_are_installed():
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    assert not missing, "apt-get install " + " ".join(missing)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("testvm-out")
    testvm.build(out, work=tmp_path_factory.mktemp("testvm-work"))
    return out


@pytest.fixture(scope="module")
def vhd(built, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("testvm-vhd")
    with tarfile.open(built / testvm.IMAGE_NAME, "r:gz") as archive:
        archive.extract("0.vhd", target, filter="data")
    return target / "0.vhd"


@pytest.fixture(scope="module")
def raw_disk(vhd, tmp_path_factory) -> Path:
    """The VHD as the raw block device a XenServer VDI presents (what pygrub reads)."""
    raw = tmp_path_factory.mktemp("testvm-raw") / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-f", "vpc", "-O", "raw", str(vhd), str(raw)], check=True)
    return raw


@pytest.fixture(scope="module")
def pygrub_choice(raw_disk, tmp_path_factory) -> testvm.BootChoice:
    return testvm.pygrub(raw_disk, tmp_path_factory.mktemp("pygrub"))


@pytest.fixture(scope="module")
def partition(raw_disk) -> Path:
    """The first partition of the disk as a file, found from the partition table sfdisk reads."""
    raw, work = raw_disk, raw_disk.parent
    table = json.loads(subprocess.run(["sfdisk", "--json", str(raw)], check=True, capture_output=True,
                                      text=True).stdout)["partitiontable"]
    (first,) = table["partitions"]
    assert table["label"] == "dos" and first["type"] == "83" and first.get("bootable")
    target = work / "partition.ext2"
    with raw.open("rb") as disk, target.open("wb") as out:
        disk.seek(first["start"] * table["sectorsize"])
        out.write(disk.read(first["size"] * table["sectorsize"]))
    return target


def debugfs(image: Path, command: str) -> str:
    result = subprocess.run(["debugfs", "-R", command, str(image)], capture_output=True, text=True, check=True)
    return result.stdout


def boot_entry(menu: str) -> tuple[str, str]:
    """(kernel, initrd) paths of the first entry of a grub.cfg (`linux`) or menu.lst (`kernel`)."""
    kernel = re.search(r"^\s*(?:linux|kernel)\s+(\S+)", menu, re.MULTILINE)
    initrd = re.search(r"^\s*initrd\s+(\S+)", menu, re.MULTILINE)
    assert kernel and initrd, menu
    return kernel.group(1), initrd.group(1)


def test_archive_holds_exactly_0_vhd(built):
    with tarfile.open(built / testvm.IMAGE_NAME, "r:gz") as archive:
        members = archive.getmembers()
    assert [(member.name, member.isfile()) for member in members] == [("0.vhd", True)]


def test_metadata_describes_the_archive(built):
    metadata = json.loads((built / testvm.METADATA_NAME).read_text())
    data = (built / metadata["file"]).read_bytes()
    assert metadata["size"] == len(data)
    assert metadata["sha256"] == hashlib.sha256(data).hexdigest()
    assert metadata["md5"] == hashlib.md5(data).hexdigest()
    assert (metadata["disk_format"], metadata["container_format"]) == ("vhd", "ovf")
    assert metadata["properties"] == {"vm_mode": "xen"}
    assert len(data) < 16 * 1024 * 1024, "the TestVM image should stay small"


def test_qemu_img_reads_a_dynamic_vhd(vhd):
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(vhd)], check=True,
                                     capture_output=True, text=True).stdout)
    assert info["format"] == "vpc"
    check = subprocess.run(["qemu-img", "check", str(vhd)], capture_output=True, text=True)
    # qemu's vpc driver has no consistency check (exit 63); anything else must be a clean check.
    assert check.returncode == 0 or (check.returncode == 63 and "does not support checks" in check.stderr), check
    footer = vhd.read_bytes()[-512:]
    assert footer[:8] == b"conectix"
    assert struct.unpack_from(">I", footer, 60)[0] == 3, "disk type must be 3 (dynamic)"


def vhd_geometry(size: int) -> int:
    """CHS of a disk size by the VHD specification's algorithm, packed as the footer stores it."""
    sectors = min(size // 512, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        per_track, heads = 255, 16
        cylinder_heads = sectors // per_track
    else:
        per_track = 17
        cylinder_heads = sectors // per_track
        heads = max((cylinder_heads + 1023) // 1024, 4)
        if cylinder_heads >= heads * 1024 or heads > 16:
            per_track, heads = 31, 16
            cylinder_heads = sectors // per_track
        if cylinder_heads >= heads * 1024:
            per_track, heads = 63, 16
            cylinder_heads = sectors // per_track
    return (cylinder_heads // heads) << 16 | heads << 8 | per_track


def test_vhd_structure_is_consistent(vhd):
    """What `qemu-img check` cannot say for VHD: checksums, the block table, blocks inside the file, and
    the footer/header rules XenServer's `vhd-util check` applies when its Glance plugin imports the image."""
    data = vhd.read_bytes()
    head, tail = data[:512], data[-512:]
    assert head == tail, "the footer copy at the start must equal the footer"
    assert struct.unpack_from(">I", tail, 64)[0] == testvm.vhd_checksum(tail, 64)
    (header_offset,) = struct.unpack_from(">Q", tail, 16)
    header = data[header_offset:header_offset + 1024]
    assert header[:8] == b"cxsparse"
    assert struct.unpack_from(">I", header, 36)[0] == testvm.vhd_checksum(header, 36)
    table_offset, = struct.unpack_from(">Q", header, 16)
    entries, block_size = struct.unpack_from(">II", header, 28)
    (virtual_size,) = struct.unpack_from(">Q", tail, 48)
    assert entries * block_size >= virtual_size
    assert block_size == 2 * 1024 * 1024, "vhd-util accepts only 2 MiB blocks"
    (geometry,) = struct.unpack_from(">I", tail, 56)
    assert vhd_geometry(virtual_size) >= geometry, "vhd-util: geometry too large"
    (created,) = struct.unpack_from(">I", tail, 24)
    assert created + 946684800 <= time.time(), "vhd-util: creation time in future"
    bitmap = -(-block_size // 512 // 8 // 512) * 512
    blocks = [entry for entry in struct.unpack_from(f">{entries}I", data, table_offset) if entry != 0xFFFFFFFF]
    assert blocks, "an image with a kernel cannot be all holes"
    starts = sorted(entry * 512 for entry in blocks)
    for start, following in zip(starts, [*starts[1:], len(data) - 512], strict=True):
        assert start + bitmap + block_size <= following, "blocks overlap or run past the footer"


def test_filesystem_is_clean(partition):
    result = subprocess.run(["e2fsck", "-f", "-n", str(partition)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("menu", ["/boot/grub/grub.cfg", "/boot/grub/menu.lst"])
def test_menu_names_the_kernel_and_initrd_on_the_filesystem(partition, menu):
    text = debugfs(partition, f"cat {menu}")
    kernel, initrd = boot_entry(text)
    assert "console=hvc0" in text
    for path in (kernel, initrd):
        listing = debugfs(partition, f"ls -p {os.path.dirname(path)}")
        # `ls -p` lines: /inode/mode/uid/gid/name/size/ (directories have no size)
        sizes = {fields[4]: int(fields[5]) for fields in (line.strip("/").split("/") for line in listing.split())
                 if len(fields) == 6 and fields[5].isdigit()}
        assert sizes.get(os.path.basename(path), 0) > 1024 * 1024, f"{path} missing or tiny: {listing}"


def test_pygrub_boots_the_kernel_and_initrd_with_the_xen_console(pygrub_choice, partition, tmp_path):
    """Xen's own PV boot loader reads the menu and extracts the files it names, byte for byte."""
    kernel_path, initrd_path = boot_entry(debugfs(partition, "cat /boot/grub/grub.cfg"))
    for chosen, path in ((pygrub_choice.kernel, kernel_path), (pygrub_choice.ramdisk, initrd_path)):
        debugfs(partition, f"dump {path} {tmp_path / 'expected'}")
        assert chosen.read_bytes() == (tmp_path / "expected").read_bytes()
    assert pygrub_choice.kernel.read_bytes()[0x202:0x206] == b"HdrS", "not a bzImage"
    consoles = [arg for arg in pygrub_choice.args.split() if arg.startswith("console=")]
    assert consoles[-1:] == ["console=hvc0"], "a PV guest's console (the last console=) must be hvc0"


def test_initramfs_holds_the_xen_and_qemu_drivers(partition, tmp_path):
    _, initrd_path = boot_entry(debugfs(partition, "cat /boot/grub/grub.cfg"))
    initrd = tmp_path / "initrd"
    debugfs(partition, f"dump {initrd_path} {initrd}")
    archive = lzma.decompress(initrd.read_bytes())
    names = subprocess.run(["cpio", "-t", "--quiet"], input=archive, capture_output=True, check=True).stdout.split()
    modules = {Path(name.decode()).name for name in names if name.endswith(b".ko")}
    assert {"xen-netfront.ko", "xen-blkfront.ko", "virtio_net.ko", "virtio_pci.ko", "e1000.ko"} <= modules
    assert {b"init", b"bin/busybox", b"etc/udhcpc.script"} <= set(names)


# What the TestVM's init prints when the network fails: no need to wait for the timeout then.
CONSOLE_FAILURES = r"TestVM: no DHCP lease|does not answer ping|Kernel panic"


def read_console_until(process: subprocess.Popen, patterns: list[str], deadline: float, seen: bytearray) -> None:
    """Read QEMU's serial console into `seen` until every pattern matched; fail at the deadline or as soon
    as the guest reports a failure."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while not all(re.search(pattern, seen.decode(errors="replace")) for pattern in patterns):
        remaining = deadline - time.monotonic()
        failed = re.search(CONSOLE_FAILURES, seen.decode(errors="replace"))
        if remaining <= 0 or process.poll() is not None or failed:
            missing = [p for p in patterns if not re.search(p, seen.decode(errors="replace"))]
            pytest.fail(f"console never showed {missing}:\n{seen.decode(errors='replace')[-3000:]}")
        if selector.select(timeout=min(remaining, 1.0)):
            chunk = os.read(process.stdout.fileno(), 65536)
            if chunk:
                seen.extend(chunk)


def test_boots_under_qemu_to_a_prompt_with_a_dhcp_lease(pygrub_choice):
    """The kernel and initramfs pygrub picks, under QEMU (TCG), user networking restricted to the guest.

    QEMU has no Xen console, so the kernel gets a serial one instead of pygrub's console=hvc0."""
    kernel, initrd = pygrub_choice.kernel, pygrub_choice.ramdisk
    argv = ["qemu-system-x86_64", "-machine", "accel=tcg", "-m", "256", "-nodefaults", "-display", "none",
            "-no-reboot", "-serial", "stdio", "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0 panic=-1",
            "-netdev", "user,id=n,restrict=on", "-device", "virtio-net-pci,netdev=n"]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = bytearray()
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        read_console_until(process, [r"TestVM: eth0 leased 10\.0\.2\.\d+/", r"answers ping", r"testvm# "],
                           deadline, seen)
        process.stdin.write(b"echo shell=$((6*7))\n")
        process.stdin.flush()
        read_console_until(process, [r"shell=42"], deadline, seen)
    finally:
        process.kill()
        process.wait(timeout=30)
    console = seen.decode(errors="replace")
    assert re.search(r"leased 10\.0\.2\.\d+/24 from 10\.0\.2\.2", console), console[-2000:]


def test_two_builds_are_identical(built, tmp_path):
    again = tmp_path / "out"
    testvm.build(again, work=tmp_path / "work")
    first = json.loads((built / testvm.METADATA_NAME).read_text())["sha256"]
    assert hashlib.sha256((again / testvm.IMAGE_NAME).read_bytes()).hexdigest() == first
