"""The connection handshake: what redis-py sends when it connects (HELLO, AUTH, CLIENT SETNAME,
CLIENT SETINFO, ...), not a command of a lesson or a program. The recorders leave it out, and
so do the line notes of a traced program's processes, so that both count the same commands.

Light on purpose: the traced program's other processes import it at start-up.
"""

from __future__ import annotations

from typing import Any

_HANDSHAKE = frozenset({b"HELLO", b"AUTH"})
_CLIENT_HANDSHAKE = frozenset({b"SETNAME", b"SETINFO", b"ID", b"MAINT_NOTIFICATIONS", b"GETNAME"})


def _word(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogateescape")


def housekeeping(command: tuple[Any, ...] | list[Any]) -> bool:
    """Whether a command (its words as sent: bytes or text; redis-py may send "CLIENT SETNAME"
    as one word) is the connection's handshake."""
    words = [w for part in command[:2] for w in _word(part).split(b" ") if w]
    if not words:
        return False
    name = words[0].upper()
    if name in _HANDSHAKE:
        return True
    return name == b"CLIENT" and len(words) > 1 and words[1].upper() in _CLIENT_HANDSHAKE
