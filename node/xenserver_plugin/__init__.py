"""Node code of fuel-plugin-xenserver: what Fuel runs on the OpenStack nodes.

Runs on the nodes' system Python 2.7 and on Python 3.6+; standard library, PyYAML, six and XenAPI only.
"""
PLUGIN_NAME = "fuel-plugin-xenserver"
