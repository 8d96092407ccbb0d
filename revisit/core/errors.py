"""Errors that end a command with a message for the user rather than a traceback."""


class BadInput(Exception):
    """The user gave us a file or value we cannot use; the CLI exits with status 2.

    The message names the file, and where it can the line and field, so it can be fixed at once.
    """


class ServiceFailure(Exception):
    """Something the command depends on failed at run time (a full disk, a broker refusing data);
    the CLI exits with status 1 and this message, which says what was kept and how to go on."""
