"""HostConfig (contract C1): versions, JSON round trip, and no password in the file."""

import json

import pytest

from lab.xenserver.config import HostConfig

from .conftest import PASSWORD, make_config


@pytest.mark.parametrize(("version", "platform"), [("6.2.0", "1.8.0"), ("6.5.0", "1.9.0"), ("7.0.0", "2.1.0"),
                                                   ("7.1.0", "2.2.0"), ("7.2.0", "2.3.0")])
def test_platform_version_follows_product_version(version, platform):
    assert make_config(version).platform_version == platform


def test_unknown_version_is_refused():
    with pytest.raises(ValueError, match="unknown XenServer version '8.0.0'"):
        HostConfig.default("xs", "8.0.0")


def test_json_round_trip_keeps_everything_but_the_password_itself():
    config = make_config("6.5.0", sr_type="nfs")
    text = config.to_json()
    assert PASSWORD not in text
    again = HostConfig.from_json(text)
    assert again == config
    assert again.password_matches(PASSWORD) and not again.password_matches(PASSWORD + "x")
    assert again.hotfixes == ["XS65ESP1013"] and again.default_sr.type == "nfs"


def test_default_host_has_the_himn_and_a_network_per_vif_bridge():
    config = make_config()
    himn = config.network_by_bridge("xenapi")
    assert himn.other_config["is_host_internal_management_network"] == "true"
    assert [n.bridge for n in config.networks] == ["xenapi", "xenbr0", "xenbr1"]
    vm = config.vms[0]
    assert [(v.device, v.bridge) for v in vm.vifs] == [("0", "xenbr0"), ("1", "xenbr1"), ("2", "xenapi")]
    assert json.loads(config.to_json())["vms"][0]["vifs"][2]["mac"] == "52:54:00:aa:00:03"
