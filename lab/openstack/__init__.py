"""Real Keystone and Glance on the lab's controllers (issue 6): configs, the servers' launcher, provisioning.

Tooling side: config.py (what the services' files say, from a node's astute data), services.py (start them
in a lab host). Host side (run inside a lab host with `-m`): serve.py (a WSGI server for one service, under
the OpenStack venv's Python), api.py (a stdlib Keystone v3 / Glance v2 client), provision.py (the users,
projects, endpoints and old TestVM Fuel leaves), images.py (`openstack image show`-style JSON).
"""
