"""The lab: simulated XenServer hosts and Fuel nodes for trying and testing the plugin."""
