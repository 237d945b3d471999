"""The errors the command line reports as one line on stderr (anything else is a bug)."""


class CLIError(Exception):
    """A problem the user can fix: the message says what went wrong and how to fix it."""


class DataError(CLIError):
    """A dataset that cannot be found or read."""


class CheckpointError(CLIError):
    """A checkpoint that cannot be read, or does not match the run being resumed."""


class ExpressionError(CLIError):
    """An expression for `chainrule graph` outside the small accepted language."""
