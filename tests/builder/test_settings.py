"""The wizard component and the Settings-tab section, checked against what Fuel 9.0 accepts."""
import re

import yaml

from tests.paths import REFERENCE, REPO

COMPONENTS = yaml.safe_load((REPO / "plugin" / "components.yaml").read_text())
ATTRIBUTES = yaml.safe_load((REPO / "plugin" / "environment_config.yaml").read_text())["attributes"]


def mitaka_component_names() -> set[str]:
    text = (REFERENCE / "plugin-serialization.txt").read_text()
    block = text.split("Release (Mitaka) component names:", 1)[1].split("(The xenserver", 1)[0]
    names = set()
    for token in re.findall(r"[\w:]+(?:\{[\w,]+\})?", block):
        if "{" in token:
            prefix, alternatives = token.rstrip("}").split("{")
            names.update(prefix + name for name in alternatives.split(","))
        elif ":" in token:
            names.add(token)
    return names


def test_reference_lists_the_release_components():
    names = mitaka_component_names()
    assert {"hypervisor:qemu", "network:neutron:ml2:tun", "additional_service:murano"} <= names


def test_xenserver_is_a_hypervisor_choice():
    [component] = COMPONENTS
    assert component["name"] == "hypervisor:xenserver"
    assert component["label"] == "XenServer"


def test_incompatible_components_exist_in_fuel_90_and_say_why():
    component = COMPONENTS[0]
    names = {item["name"] for item in component["incompatible"] + component.get("compatible", [])}
    assert names <= mitaka_component_names()
    incompatible = {item["name"] for item in component["incompatible"]}
    assert {"hypervisor:qemu", "hypervisor:vmware", "network:neutron:ml2:tun", "storage:block:ceph",
            "storage:ephemeral:ceph", "storage:image:ceph", "additional_service:sahara",
            "additional_service:murano", "additional_service:ironic"} <= incompatible
    assert all(item["message"].strip() for item in component["incompatible"])


def test_settings_section_sits_in_compute_with_explained_restrictions():
    metadata = ATTRIBUTES["metadata"]
    assert metadata["group"] == "compute"
    conditions = " ".join(r["condition"] for r in metadata["restrictions"])
    for needle in ("segmentation_type", "volumes_ceph", "ephemeral_ceph", "images_ceph", "sahara", "murano",
                   "ironic", "mongo"):
        assert needle in conditions
    assert all(r["message"].strip() for r in metadata["restrictions"])


def test_credentials_and_install_switch():
    assert ATTRIBUTES["username"]["type"] == "text" and ATTRIBUTES["username"]["value"] == "root"
    password = ATTRIBUTES["password"]
    assert password["type"] == "password"
    assert not re.search(password["regex"]["source"], "")
    assert re.search(password["regex"]["source"], "secret")
    assert "empty" in password["regex"]["error"]
    xapi = ATTRIBUTES["install_xapi"]
    assert (xapi["type"], xapi["value"], xapi["label"]) == ("checkbox", True, "Install Nova Plugins")
    assert "Untick" in xapi["description"]
