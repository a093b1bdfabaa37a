"""The node's deployment data (/etc/astute.yaml), parsed once into the values the tasks need."""
import yaml

from xenserver_plugin import PLUGIN_NAME
from xenserver_plugin.errors import OperatorError

DEFAULT_PATH = "/etc/astute.yaml"


def load(path=DEFAULT_PATH):
    """Read astute.yaml; a missing or unreadable file is an operator error."""
    try:
        with open(path) as stream:
            data = yaml.safe_load(stream)
    except (IOError, OSError) as error:
        raise OperatorError(
            "Cannot read the node's deployment data %s: %s." % (path, error.strerror),
            "Run the task on a node deployed by Fuel, or pass --astute PATH.")
    except yaml.YAMLError as error:
        raise OperatorError(
            "The node's deployment data %s is not valid YAML (%s)." % (path, error),
            "Redeploy the node from Fuel so it gets a fresh astute.yaml.")
    if not isinstance(data, dict):
        raise OperatorError("The node's deployment data %s is empty." % path,
                            "Redeploy the node from Fuel so it gets a fresh astute.yaml.")
    return data


def plugin_settings(data):
    """The plugin's Settings-tab values; fails when the plugin is not enabled for this environment."""
    section = data.get(PLUGIN_NAME)
    if not isinstance(section, dict) or not section.get("metadata", {}).get("enabled", False):
        raise OperatorError(
            "The %s section is missing from astute.yaml: the plugin is not enabled in this environment."
            % PLUGIN_NAME,
            "Enable XenServer in the environment's Settings tab (Compute), enter the credentials "
            "and deploy the changes.")
    return section
