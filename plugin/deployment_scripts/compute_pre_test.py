#!/usr/bin/env python
"""Fuel task entry point; the task itself is xenserver_plugin.tasks.compute_pre_test."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xenserver_plugin.tasks import compute_pre_test  # noqa: E402

if __name__ == "__main__":
    sys.exit(compute_pre_test.main(sys.argv[1:]))
