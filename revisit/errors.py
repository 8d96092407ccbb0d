"""Errors that end a command with a message for the user rather than a traceback."""


class BadInput(Exception):
    """The user gave us a file or value we cannot use; the CLI exits with status 2.

    The message names the file, and where it can the line and field, so it can be fixed at once.
    """
