"""Ensure steps: read the current state, compare with the desired state, act only on the difference.

One shape gives idempotency (no difference, no action), the dry run (report the difference, do not act)
and the change count every task prints at the end.
"""
import logging
import sys

LOG = logging.getLogger(__name__)


class Run(object):
    """The changes of one task run; `ensure` is the only way a task changes a node."""

    def __init__(self, dry_run=False, out=None):
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.changes = []

    def ensure(self, description, in_place, apply):
        """Make `description` true: `in_place` is the fact (bool), `apply` closes the gap.

        Returns True when something changed (or would change, in a dry run).
        """
        if in_place:
            LOG.info("ok: %s", description)
            return False
        self.changes.append(description)
        if self.dry_run:
            LOG.info("would change: %s", description)
            self.out.write("would change: %s\n" % description)
            return True
        LOG.info("changing: %s", description)
        apply()
        self.out.write("changed: %s\n" % description)
        return True

    def changed_since(self, mark):
        """Whether any change happened after `mark` (a value of len(run.changes)), e.g. to restart a service."""
        return len(self.changes) > mark

    def summary(self):
        count = len(self.changes)
        verb = "would make" if self.dry_run else "made"
        return "%s %d change%s" % (verb, count, "" if count == 1 else "s")
