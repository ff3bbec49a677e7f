"""What the sandbox says instead of sending a line."""

from __future__ import annotations


class Refused(Exception):
    """A line the sandbox will not send, with one line that says why and what to do instead."""


class Cancelled(Exception):
    """Ctrl-C stopped a blocking command's wait: the session goes on, nothing was recorded."""
