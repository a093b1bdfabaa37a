"""The lab's OpenStack pieces that need no lab: the missing-venv message, the cluster status `pcs` prints."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from lab.errors import LabError
from lab.openstack import services
from lab.openstack.config import Cloud


def test_a_missing_venv_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setattr(services, "PYTHON", tmp_path / "no-venv" / "bin" / "python")
    with pytest.raises(LabError, match=r"make openstack-venv"):
        services.require_venv()


def test_status_xml_is_crm_mon_shaped():
    xml = services.status_xml([("vip__management", "vip__management"), ("p_haproxy", "clone_p_haproxy")],
                              ["node-1.lab.local"])
    root = ElementTree.fromstring(xml)
    assert {r.get("id"): r.get("role") for r in root.iter("resource")} == {"vip__management": "Started",
                                                                          "p_haproxy": "Started"}
    assert [c.get("id") for c in root.findall("resources/clone")] == ["clone_p_haproxy"]
    assert services.PCS.stat().st_mode & 0o111


def test_cloud_from_fuel_astute_data():
    data = {"access": {"user": "admin", "password": "pw", "tenant": "admin"},
            "glance": {"user_password": "g-pw"}, "ceilometer": {"enabled": True, "user_password": "c-pw"},
            "network_metadata": {
                "vips": {"management": {"ipaddr": "192.168.0.2"}, "public": {"ipaddr": "172.16.0.2"}},
                "nodes": {"node-2": {"uid": "2", "name": "node-2", "node_roles": ["controller"],
                                     "network_roles": {"mgmt/memcache": "192.168.0.4"}},
                          "node-1": {"uid": "1", "name": "node-1", "node_roles": ["primary-controller"],
                                     "network_roles": {"mgmt/memcache": "192.168.0.3"}},
                          "node-3": {"uid": "3", "name": "node-3", "node_roles": ["compute"],
                                     "network_roles": {"mgmt/memcache": "192.168.0.5"}}}}}
    cloud = Cloud.from_astute(data)
    assert cloud.memcached == ["192.168.0.3:11211", "192.168.0.4:11211"]
    assert cloud.passwords["glance"] == "g-pw" and cloud.passwords["ceilometer"] == "c-pw"
    conf = cloud.glance_conf(services.PASTE_INI)
    assert "memcached_servers = 192.168.0.3:11211,192.168.0.4:11211" in conf
    assert "www_authenticate_uri = http://192.168.0.2:5000" in conf
    env = cloud.bootstrap_env()
    assert env["OS_BOOTSTRAP_PUBLIC_URL"] == "http://172.16.0.2:5000"
    assert env["OS_BOOTSTRAP_ADMIN_URL"] == "http://192.168.0.2:35357"
    image = cloud.plan(seed_image="/x.qcow2")["image"]["record"]
    assert (image["disk_format"], image["container_format"], image["visibility"]) == ("qcow2", "bare", "public")
