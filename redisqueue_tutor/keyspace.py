"""Which words of a Redis command name keys or channels, so a traced program can be namespaced.

A learner's program uses bare names (`queue`); on a real server every key and channel of a run must
live under the run's namespace (`tutor:{3f9a0c1e}:queue`). redis-py has no per-command key
positions we can rely on at the connection level, so this small table covers the commands a
queue or pub/sub program uses. A command that is not in it cannot be kept inside the namespace:
on a real server the tracer refuses it rather than guess. Commands that reach beyond a run's own
data (FLUSHALL, KEYS, MONITOR, CONFIG, ...) are refused on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Positions = Callable[[list[str]], list[int]]  # word list (name first) -> indexes of names


def _first(words: list[str]) -> list[int]:
    return [1] if len(words) > 1 else []


def _first_two(words: list[str]) -> list[int]:
    return [i for i in (1, 2) if i < len(words)]


def _all(words: list[str]) -> list[int]:
    return list(range(1, len(words)))


def _all_but_last(words: list[str]) -> list[int]:
    return list(range(1, len(words) - 1))


def _second(words: list[str]) -> list[int]:
    return [2] if len(words) > 2 else []


def _numkeys_at(index: int) -> Positions:
    def positions(words: list[str]) -> list[int]:
        try:
            count = int(words[index])
        except (IndexError, ValueError):
            return []
        return [i for i in range(index + 1, index + 1 + count) if i < len(words)]

    return positions


def _streams(words: list[str]) -> list[int]:
    # XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...]: the first half after STREAMS.
    upper = [w.upper() for w in words]
    if "STREAMS" not in upper:
        return []
    start = upper.index("STREAMS") + 1
    count = (len(words) - start) // 2
    return list(range(start, start + count))


def _pubsub_subcommand(words: list[str]) -> list[int]:
    # PUBSUB NUMSUB channel ... / PUBSUB CHANNELS [pattern]; NUMPAT has no names.
    sub = words[1].upper() if len(words) > 1 else ""
    return list(range(2, len(words))) if sub in ("NUMSUB", "CHANNELS") else []


def _object_subcommand(words: list[str]) -> list[int]:
    return [2] if len(words) > 2 else []


_FIRST = """
LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS
SET GET GETSET GETDEL GETEX SETNX SETEX PSETEX INCR INCRBY DECR DECRBY INCRBYFLOAT APPEND STRLEN
EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST TYPE DUMP
HSET HSETNX HGET HGETALL HDEL HEXISTS HINCRBY HINCRBYFLOAT HKEYS HVALS HLEN HMSET HMGET
SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER
ZADD ZRANGE ZRANGEBYSCORE ZREVRANGE ZREM ZCARD ZSCORE ZINCRBY ZRANK ZPOPMIN ZPOPMAX ZCOUNT
XADD XLEN XRANGE XREVRANGE XACK XPENDING XCLAIM XAUTOCLAIM XDEL XTRIM XSETID
PUBLISH SPUBLISH
"""
_ALL = (
    "DEL UNLINK EXISTS TOUCH MGET WATCH SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SINTER SUNION"
)
_NONE = """
MULTI EXEC DISCARD UNWATCH PING ECHO TIME DBSIZE HELLO AUTH CLIENT RESET QUIT LASTSAVE
"""

KEY_POSITIONS: dict[str, Positions] = {
    **{name: _first for name in _FIRST.split()},
    **{name: _all for name in _ALL.split()},
    **{name: (lambda _words: []) for name in _NONE.split()},
    "BLPOP": _all_but_last,
    "BRPOP": _all_but_last,
    "BZPOPMIN": _all_but_last,
    "BZPOPMAX": _all_but_last,
    "RPOPLPUSH": _first_two,
    "LMOVE": _first_two,
    "BRPOPLPUSH": _first_two,
    "BLMOVE": _first_two,
    "RENAME": _first_two,
    "RENAMENX": _first_two,
    "SMOVE": _first_two,
    "LMPOP": _numkeys_at(1),
    "BLMPOP": _numkeys_at(2),
    "XREAD": _streams,
    "XREADGROUP": _streams,
    "XGROUP": _second,
    "XINFO": _second,
    "PUBSUB": _pubsub_subcommand,
    "OBJECT": _object_subcommand,
}

# Never sent on anybody's behalf: they read or destroy data the run did not create, or the server.
REFUSED_ALWAYS = frozenset(
    [
        "FLUSHDB",
        "FLUSHALL",
        "KEYS",
        "MONITOR",
        "CONFIG",
        "SHUTDOWN",
        "DEBUG",
        "SWAPDB",
        "MOVE",
        "MIGRATE",
        "SELECT",
        "REPLICAOF",
        "SLAVEOF",
        "ACL",
        "SAVE",
        "BGSAVE",
        "BGREWRITEAOF",
        "FAILOVER",
        "CLUSTER",
        "SCRIPT",
        "FUNCTION",
    ]
)

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


class Refused(BaseException):
    """A command the tracer will not send. A BaseException, so the program cannot swallow it."""


def name_positions(words: list[str], *, strict: bool) -> list[int]:
    """Indexes of the words that name keys or channels; raise Refused when it cannot be known.

    `strict` (a real server): an unknown command is refused, since its keys could not be kept
    inside the run's namespace. On the embedded fakeredis an unknown command is sent as it is.
    """
    name = words[0].upper() if words else ""
    if name in REFUSED_ALWAYS:
        raise Refused(
            f"the program sent {name}, which the tutor never sends: it reaches data or settings"
            " that are not the program's own"
        )
    positions = KEY_POSITIONS.get(name)
    if positions is None:
        if strict:
            raise Refused(
                f"the program sent {name}, which `tutor trace` cannot keep inside the run's"
                " namespace on a real server; trace it on the embedded fakeredis (no --redis-url)"
            )
        return []
    if name == "XADD" or name == "XTRIM":
        return [1]
    return positions(words)


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
