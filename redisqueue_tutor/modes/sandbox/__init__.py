"""`tutor sandbox`: a prompt for Redis commands, each shown in the execution table.

session.py runs a line (namespaced, through the run's gate) and records it; lanes.py holds the
listener threads SUBSCRIBE opens; shell.py is the prompt loop; errors.py what it says instead.
The commands it offers and refuses are keyspace/catalogue.py.
"""

from __future__ import annotations

from redisqueue_tutor.keyspace.catalogue import COMMANDS, REFUSED, CommandSpec
from redisqueue_tutor.modes.sandbox.errors import Cancelled, Refused
from redisqueue_tutor.modes.sandbox.session import Sandbox, Session

__all__ = ["COMMANDS", "REFUSED", "Cancelled", "CommandSpec", "Refused", "Sandbox", "Session"]
