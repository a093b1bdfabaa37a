"""System tools the build needs: install them when root, else name the exact command to run."""
import os
import shutil
import subprocess
import sys

# command -> Debian package that provides it
REQUIRED = {
    "rpmbuild": "rpm",
    "rpm2cpio": "rpm",
    "createrepo_c": "createrepo-c",
    "dpkg-scanpackages": "dpkg-dev",
    "cpio": "cpio",
    "xorriso": "xorriso",
}


def missing_packages(required: dict[str, str]) -> list[str]:
    return sorted({package for command, package in required.items() if shutil.which(command) is None})


def ensure(required: dict[str, str] = REQUIRED) -> None:
    packages = missing_packages(required)
    if not packages:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        sys.exit("the build needs system packages; run as root:\n  apt-get update && " + " ".join(command))
    print("installing build tools: " + " ".join(packages), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        if subprocess.run(command, env=env, check=False).returncode != 0:
            sys.exit("cannot install " + " ".join(packages) + " (is the Debian package index reachable?)")


if __name__ == "__main__":
    ensure()
