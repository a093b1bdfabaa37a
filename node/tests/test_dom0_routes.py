import os
import subprocess

from post_fakes import FakeDom0
from runs import make_run

from xenserver_plugin import dom0_routes

NETWORKS = ["192.168.1.0/24", "10.50.0.0/21"]


def test_routes_script_and_udev_rule_then_idempotent(tmp_path):
    dom0 = FakeDom0(str(tmp_path))
    run = make_run()
    dom0_routes.ensure(run, dom0, NETWORKS, "169.254.0.2")
    assert dom0.routes["192.168.1.0/24"] == "169.254.0.2"
    assert dom0.routes["10.50.0.0/21"] == "169.254.0.2"
    script = dom0.path(dom0_routes.SCRIPT_PATH)
    assert os.stat(script).st_mode & 0o777 == 0o755
    text = open(script).read()
    assert "ip route replace 10.50.0.0/21 via 169.254.0.2 dev xenapi" in text
    rule = open(dom0.path(dom0_routes.UDEV_RULE_PATH)).read()
    assert 'KERNEL=="xenapi"' in rule and dom0_routes.SCRIPT_PATH in rule
    assert len(run.changes) == 4

    again = make_run()
    dom0_routes.ensure(again, dom0, NETWORKS, "169.254.0.2")
    assert again.changes == []
    assert open(dom0.path(dom0_routes.UDEV_RULE_PATH)).read() == rule


def test_route_via_another_address_is_replaced(tmp_path):
    dom0 = FakeDom0(str(tmp_path))
    dom0.routes["192.168.1.0/24"] = "169.254.0.9"
    run = make_run()
    dom0_routes.ensure(run, dom0, NETWORKS[:1], "169.254.0.2")
    assert dom0.routes["192.168.1.0/24"] == "169.254.0.2"


def test_dry_run_touches_nothing(tmp_path):
    dom0 = FakeDom0(str(tmp_path))
    run = make_run(dry_run=True)
    dom0_routes.ensure(run, dom0, NETWORKS, "169.254.0.2")
    assert len(run.changes) == 4
    assert dom0.routes == {"169.254.0.0/16": None}
    assert os.listdir(str(tmp_path)) == []


def test_parse_routes():
    routes = dom0_routes.parse_routes("169.254.0.0/16 proto kernel scope link src 169.254.0.1\n"
                                      "192.168.0.0/24 via 169.254.0.2\n")
    assert routes == {"169.254.0.0/16": None, "192.168.0.0/24": "169.254.0.2"}


def test_script_is_valid_sh():
    text = dom0_routes.script_text(NETWORKS, "169.254.0.2")
    assert subprocess.call(["sh", "-n", "-c", text]) == 0
