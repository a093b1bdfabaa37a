"""A simulated XenServer host: XenAPI over XML-RPC, `xe`, and Dom0 plugins, sharing one state."""
