"""The hash-pinned wheels both builds use: the vendored XenAPI SDK and os-xenapi's Dom0 plugins."""
import pytest

from builder import dom0_plugins, plugin, wheels


@pytest.mark.parametrize("requirements", [plugin.VENDOR_REQUIREMENTS, dom0_plugins.REQUIREMENTS])
def test_cached_wheel_with_wrong_hash_is_refused(tmp_path, requirements):
    wheel = tmp_path / wheels.pattern(requirements).replace("*", "py2.py3-none-any")
    wheel.write_bytes(b"not the pinned wheel")
    with pytest.raises(wheels.WheelError, match="sha256"):
        wheels.download(requirements, tmp_path)


def test_only_the_pinned_version_is_taken_from_the_cache(tmp_path):
    (tmp_path / "XenAPI-2.99-py2.py3-none-any.whl").write_bytes(b"another version")
    assert wheels.pattern(plugin.VENDOR_REQUIREMENTS) == "XenAPI-2.14-*.whl"
    assert wheels.cached(plugin.VENDOR_REQUIREMENTS, tmp_path) == []
