"""The one exception type for failures an operator can fix."""


class OperatorError(Exception):
    """A failure with a known cause and fix; the task prints it as one paragraph, no traceback."""

    def __init__(self, cause, fix):
        super(OperatorError, self).__init__(cause)
        self.cause = cause
        self.fix = fix

    def __str__(self):
        return "%s %s" % (self.cause.rstrip(), self.fix)
