"""What the gate raises: its own module, so that the command line can catch it without loading
the command specifications (`tutor --help` and `tutor list` stay quick)."""

from __future__ import annotations


class Refused(BaseException):
    """A command the tutor will not send. A BaseException, so a traced program cannot swallow it
    with `except Exception`."""
