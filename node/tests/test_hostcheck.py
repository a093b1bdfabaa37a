"""The supported-host table and the checks read over XenAPI (fake session with the SDK's call shape)."""
import pytest
from pre_fakes import PASSWORD, FakeSession

from xenserver_plugin import astute, dom0, hostcheck
from xenserver_plugin.errors import OperatorError


def facts_of(**kwargs):
    host = dom0.Dom0(astute.Settings("root", PASSWORD, True), session_factory=lambda url: FakeSession(**kwargs))
    try:
        return hostcheck.read_facts(host)
    finally:
        host.close()


@pytest.mark.parametrize("product,platform,hotfixes,sr_type", [
    ("6.5.0", "1.9.0", ["XS65ESP1013"], "ext"),
    ("6.5.0", "1.9.0", ["XS65ESP1002", "XS65ESP1013"], "nfs"),
    ("7.0.0", "2.1.0", [], "ext"),
    ("7.1.0", "2.2.0", [], "nfs"),
    ("7.1.2", "2.2.2", [], "ext"),
])
def test_supported_hosts_pass(product, platform, hotfixes, sr_type):
    facts = facts_of(product=product, platform=platform, hotfixes=hotfixes, sr_type=sr_type)
    hostcheck.check(facts)
    assert facts.hotfixes == sorted(hotfixes) and facts.sr_type == sr_type
    assert facts.product_version[:2] in hostcheck.SUPPORTED
    assert product in facts.summary() and "xs-host-1" in facts.summary()


def test_65_without_the_hotfix():
    facts = facts_of(product="6.5.0", platform="1.9.0", hotfixes=["XS65ESP1002"])
    with pytest.raises(OperatorError) as error:
        hostcheck.check(facts)
    assert "lacks the required hotfix XS65ESP1013" in error.value.cause
    assert "XS65ESP1013" in error.value.fix


@pytest.mark.parametrize("product", ["6.2.0", "7.2.0", "8.0.0"])
def test_unsupported_versions(product):
    with pytest.raises(OperatorError) as error:
        hostcheck.check(facts_of(product=product))
    assert "XenServer %s" % product in error.value.cause and "supported: 6.5, 7.0, 7.1" in error.value.cause


@pytest.mark.parametrize("sr_type", ["lvm", "lvmoiscsi", None])
def test_block_or_missing_default_sr(sr_type):
    with pytest.raises(OperatorError) as error:
        hostcheck.check(facts_of(sr_type=sr_type))
    assert "not a file-based one (EXT or NFS)" in error.value.cause
    assert "thin provisioning" in error.value.fix.lower() and "install" in error.value.fix


def test_check_host_uses_the_one_session():
    session = FakeSession(product="7.0.0")
    host = dom0.Dom0(astute.Settings("root", PASSWORD, True), session_factory=lambda url: session)
    facts = hostcheck.check_host(host)
    host.close()
    assert facts.platform_version == (2, 1, 0)
    assert session.logins == 1 and session.calls.count("login_with_password") == 1
    assert session.calls[-1] == "session.logout"
