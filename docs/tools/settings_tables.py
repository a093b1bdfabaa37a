"""The User Guide's settings and compatibility tables, read from the plugin's own Fuel files.

plugin/environment_config.yaml gives the Settings-tab fields and the restrictions that disable the section;
plugin/components.yaml gives what the environment wizard allows with XenServer. Generated, so they cannot drift.
"""
from pathlib import Path

import yaml

from docs.tools import rst

_TYPES = {"text": "Text", "password": "Password (hidden)", "checkbox": "Checkbox"}


def _default(field: dict) -> str:
    value = field.get("value")
    if field.get("type") == "checkbox":
        return "ticked" if value else "unticked"
    if field.get("type") == "password" or value in ("", None):
        return "(empty)"
    return rst.literal(value)


def load_attributes(environment_config: Path) -> dict:
    """environment_config.yaml's attributes: the section's fields and its metadata."""
    return yaml.safe_load(environment_config.read_text())["attributes"]


def load_component(components: Path) -> dict:
    """components.yaml's hypervisor component: the XenServer choice of the environment wizard."""
    return next(c for c in yaml.safe_load(components.read_text()) if c["name"].startswith("hypervisor:"))


def settings_table(attributes: dict) -> str:
    """One row per field of the plugin's Settings-tab section, in the order Fuel shows them (weight)."""
    fields = sorted(((name, field) for name, field in attributes.items() if name != "metadata"),
                    key=lambda item: item[1].get("weight", 0))
    rows = []
    for name, field in fields:
        rule = field.get("regex", {}).get("error", "")
        rows.append((rst.escape(field.get("label", name)), rst.literal(name),
                     _TYPES.get(field.get("type"), rst.escape(field.get("type", ""))), _default(field),
                     rst.escape(field.get("description", "")) + (f"\n\nIf invalid: *{rst.escape(rule)}*" if rule
                                                                  else "")))
    return rst.list_table(["Field", "astute.yaml key", "Type", "Default", "Meaning"], rows,
                          widths=[14, 16, 12, 10, 48])


def restrictions_table(attributes: dict) -> str:
    """When Fuel disables the section, and the message it shows."""
    metadata = attributes.get("metadata", {})
    rows = [(rst.literal(r["condition"]), rst.escape(r.get("message", "")))
            for r in metadata.get("restrictions", [])]
    if not rows:
        return "The section has no restrictions.\n"
    return rst.list_table(["Condition (Fuel expression)", "Message shown"], rows, widths=[60, 40])


def incompatible_table(component: dict) -> str:
    """The wizard choices that cannot be combined with XenServer, and why."""
    rows = [(rst.literal(c["name"]), rst.escape(c.get("message", ""))) for c in component.get("incompatible", [])]
    return rst.list_table(["Component (Fuel 9.0 name)", "Why not with XenServer"], rows, widths=[35, 65])


def compatible_list(component: dict) -> str:
    """The wizard choices known to work with XenServer."""
    names = [c["name"] for c in component.get("compatible", [])]
    return "\n".join(f"* {rst.literal(name)}" for name in names) + "\n"


def component_summary(component: dict) -> str:
    return (f"The wizard shows the choice {rst.literal(component['name'])} as "
            f"**{rst.escape(component.get('label', ''))}**: {rst.escape(component.get('description', ''))}\n")
