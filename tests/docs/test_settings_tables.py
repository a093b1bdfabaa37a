"""The settings and compatibility tables show exactly what the plugin's Fuel files say."""
import yaml

from docs.tools import settings_tables
from tests.paths import REPO

ENVIRONMENT_CONFIG = REPO / "plugin" / "environment_config.yaml"
COMPONENTS = REPO / "plugin" / "components.yaml"


def test_every_setting_and_restriction_is_shown():
    attributes = yaml.safe_load(ENVIRONMENT_CONFIG.read_text())["attributes"]
    table = settings_tables.settings_table(settings_tables.load_attributes(ENVIRONMENT_CONFIG))
    restrictions = settings_tables.restrictions_table(settings_tables.load_attributes(ENVIRONMENT_CONFIG))
    for name, field in attributes.items():
        if name == "metadata":
            continue
        assert f"``{name}``" in table and field["label"] in table
    for restriction in attributes["metadata"]["restrictions"]:
        assert restriction["condition"] in restrictions


def test_every_incompatible_component_is_shown_with_its_reason():
    xenserver = next(c for c in yaml.safe_load(COMPONENTS.read_text()) if c["name"] == "hypervisor:xenserver")
    table = settings_tables.incompatible_table(settings_tables.load_component(COMPONENTS))
    for entry in xenserver["incompatible"]:
        assert f"``{entry['name']}``" in table
        assert " ".join(entry["message"].split()).replace("*", "\\*") in table


def test_a_changed_file_changes_the_table(tmp_path):
    changed = tmp_path / "environment_config.yaml"
    data = yaml.safe_load(ENVIRONMENT_CONFIG.read_text())
    data["attributes"]["username"]["label"] = "XenServer account"
    changed.write_text(yaml.safe_dump(data))
    assert "XenServer account" in settings_tables.settings_table(settings_tables.load_attributes(changed))
