"""The Makefile names the RPM without the venv (sed on plugin/metadata.yaml): the name builder.version gives."""
import subprocess

from builder import version
from tests.paths import REPO


def test_makefile_rpm_is_the_one_builder_version_names():
    printed = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(REPO),
                              "--eval", "print-rpm: ; @echo $(RPM)", "print-rpm"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert printed == f"output/{version.rpm_name(version.plugin_version())}"
