"""Facts about commands that the key specifications do not carry: which block, on which keys,
and for how long; which subscribe.

Where a command's keys and channels are comes from Redis's own specifications
(commandspecs.py); what may be sent at all is the gate's (gate.py).
"""

from __future__ import annotations

from typing import Any

# A blocking command waits for these keys: a push to one of them may wake it.
BLOCKS_ON = frozenset(
    [
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BLMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "XREAD",
        "XREADGROUP",
    ]
)
SUBSCRIBING = frozenset(
    ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"]
)


# --------------------------------------------------------------------------------------------------
# Commands that block on purpose, and for how long

_TIMEOUT_LAST = frozenset({"BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX"})
_TIMEOUT_FIRST = frozenset({"BLMPOP", "BZMPOP"})
_TIMEOUT_LAST_MS = frozenset({"WAIT", "WAITAOF"})
_BLOCK_OPTION = frozenset({"XREAD", "XREADGROUP"})
BLOCKING = _TIMEOUT_LAST | _TIMEOUT_FIRST | _TIMEOUT_LAST_MS | _BLOCK_OPTION


def blocking_seconds(args: tuple[Any, ...] | list[Any]) -> float | None:
    """How long a command may block by its own arguments: None if it does not block, 0 forever."""
    name = _word(args[0]).upper() if args else ""
    try:
        if name in _TIMEOUT_LAST:
            return float(_word(args[-1]))
        if name in _TIMEOUT_FIRST:
            return float(_word(args[1]))
        if name in _TIMEOUT_LAST_MS:
            return float(_word(args[-1])) / 1000
        if name in _BLOCK_OPTION:
            words = [_word(a).upper() for a in args]
            if "BLOCK" in words:
                return float(words[words.index("BLOCK") + 1]) / 1000
    except (ValueError, IndexError):
        return None  # the server will refuse the command; nothing to wait for
    return None


def _word(arg: Any) -> str:
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
