"""System tools each part needs: install them when root, else name the exact command to run.

Usage: python -m builder.sysdeps GROUP [GROUP ...]
"""
import os
import shutil
import subprocess
import sys

# group -> {command: Debian package that provides it}
GROUPS: dict[str, dict[str, str]] = {
    "build": {
        "rpmbuild": "rpm",
        "rpm2cpio": "rpm",
        "createrepo_c": "createrepo-c",
        # fuel-plugin-builder checks for it and indexes the plugin's (empty) Ubuntu repository with it
        "dpkg-scanpackages": "dpkg-dev",
        "xorriso": "xorriso",
    },
    "lab": {
        "ip": "iproute2",
        "nsenter": "util-linux",
        "sshd": "openssh-server",
        "ssh": "openssh-client",
        "dhclient": "isc-dhcp-client",
        "udhcpd": "udhcpd",
        "ifup": "ifupdown",
        "iptables": "iptables",
        "crontab": "cron",
        "sysctl": "procps",
        "curl": "curl",
        "ping": "iputils-ping",
        "lspci": "pciutils",
        "memcached": "memcached",
        "qemu-img": "qemu-utils",
        # lab.delivery and lab.xenserver.packs unpack RPMs (rpm2cpio | cpio)
        "rpm2cpio": "rpm2cpio",
        "cpio": "cpio",
    },
    # the XenServer TestVM image (builder/testvm.py) and its QEMU boot test
    "testvm": {
        "modinfo": "kmod",
        "sfdisk": "fdisk",
        "mke2fs": "e2fsprogs",
        "debugfs": "e2fsprogs",
        "e2fsck": "e2fsprogs",
        "qemu-img": "qemu-utils",
        "dpkg-deb": "dpkg",
        "cpio": "cpio",
        "qemu-system-x86_64": "qemu-system-x86",
    },
    # packages of requirements/nova-train.txt that compile from source
    "nova": {
        "gcc": "build-essential",
    },
    "docs": {
        "dot": "graphviz",
        "pdftoppm": "poppler-utils",
    },
}


def missing_packages(required: dict[str, str]) -> list[str]:
    return sorted({package for command, package in required.items()
                   if shutil.which(command) is None and not os.path.exists(f"/usr/sbin/{command}")})


def ensure(groups: list[str]) -> None:
    unknown = set(groups) - GROUPS.keys()
    if unknown:
        sys.exit(f"unknown sysdeps group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    packages = sorted({p for group in groups for p in missing_packages(GROUPS[group])})
    if not packages:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        sys.exit("system packages are missing; run as root:\n  apt-get update && " + " ".join(command))
    print("installing system packages: " + " ".join(packages), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        if subprocess.run(command, env=env, check=False).returncode != 0:
            sys.exit("cannot install " + " ".join(packages) + " (is the Debian package index reachable?)")


if __name__ == "__main__":
    ensure(sys.argv[1:] or ["build"])
