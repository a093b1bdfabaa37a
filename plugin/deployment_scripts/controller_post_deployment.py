#!/usr/bin/env python
"""Fuel task entry point; the task itself is xenserver_plugin.tasks.controller_post_deployment."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xenserver_plugin.tasks import controller_post_deployment  # noqa: E402

if __name__ == "__main__":
    sys.exit(controller_post_deployment.main(sys.argv[1:]))
