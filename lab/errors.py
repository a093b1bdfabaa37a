"""The lab's one error type for things a person fixes (bad input, not root, a lab already up)."""


class LabError(RuntimeError):
    """Printed as one line by the CLI; the message names the cause and what to do."""
