"""Tests of the lab's simulated XenServer: XenAPI over XML-RPC, xe and Dom0 plugins."""
