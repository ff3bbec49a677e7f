"""The commands the sandbox offers: each one's syntax and what it does (for `help`), where a
blocking one's timeout is, and the commands it refuses, with the reason.

Where their keys and channels are is not written here: it comes from Redis's own command
specifications (specs.py), and the gate (gate.py) checks every command again as it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BLOCK = 10.0  # seconds a blocking command may wait in the sandbox: the prompt must come back


@dataclass(frozen=True)
class CommandSpec:
    """One command the sandbox can send: its syntax, what it does, and where its keys are.

    Where its keys and channels are comes from Redis's own key specifications (specs.py).
    timeout: where a blocking command's timeout is.
    """

    name: str
    syntax: str
    summary: str
    timeout: str | None = None  # "last" | "first" | "block" (the BLOCK ms option)
    group: str = "lists"


def _specs(*specs: CommandSpec) -> dict[str, CommandSpec]:
    return {spec.name: spec for spec in specs}


COMMANDS = _specs(
    CommandSpec("LPUSH", "LPUSH key element [element ...]", "add at the head (left) of a list"),
    CommandSpec("RPUSH", "RPUSH key element [element ...]", "add at the tail (right) of a list"),
    CommandSpec("LPUSHX", "LPUSHX key element", "add at the head, only if the list exists"),
    CommandSpec("RPUSHX", "RPUSHX key element", "add at the tail, only if the list exists"),
    CommandSpec("LPOP", "LPOP key [count]", "remove and answer the head (left) of a list"),
    CommandSpec("RPOP", "RPOP key [count]", "remove and answer the tail (right) of a list"),
    CommandSpec("LLEN", "LLEN key", "the length of a list"),
    CommandSpec("LRANGE", "LRANGE key start stop", "read part of a list (0 -1: all of it)"),
    CommandSpec("LINDEX", "LINDEX key index", "read one item of a list"),
    CommandSpec("LSET", "LSET key index element", "replace one item of a list"),
    CommandSpec("LREM", "LREM key count element", "remove items equal to element"),
    CommandSpec("LTRIM", "LTRIM key start stop", "keep only part of a list"),
    CommandSpec(
        "LINSERT", "LINSERT key BEFORE|AFTER pivot element", "insert next to an item of a list"
    ),
    CommandSpec("LPOS", "LPOS key element", "the position of an item in a list"),
    CommandSpec(
        "LMOVE",
        "LMOVE source destination LEFT|RIGHT LEFT|RIGHT",
        "move an item from one list to another (the reliable-queue pattern)",
    ),
    CommandSpec(
        "RPOPLPUSH",
        "RPOPLPUSH source destination",
        "move the tail of one list to the head of another",
    ),
    CommandSpec(
        "LMPOP",
        "LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT n]",
        "pop from the first non-empty list",
    ),
    CommandSpec(
        "BLPOP",
        "BLPOP key [key ...] timeout",
        f"pop the head, waiting up to timeout seconds (at most {MAX_BLOCK:g} here)",
        timeout="last",
    ),
    CommandSpec(
        "BRPOP",
        "BRPOP key [key ...] timeout",
        f"pop the tail, waiting up to timeout seconds (at most {MAX_BLOCK:g} here)",
        timeout="last",
    ),
    CommandSpec(
        "BRPOPLPUSH",
        "BRPOPLPUSH source destination timeout",
        "RPOPLPUSH that waits for an item",
        timeout="last",
    ),
    CommandSpec(
        "BLMPOP",
        "BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n]",
        "LMPOP that waits for an item",
        timeout="first",
    ),
    CommandSpec(
        "XADD",
        "XADD key id|* field value [field value ...]",
        "append an entry to a stream (* lets Redis choose its id); answers the id",
        group="streams",
    ),
    CommandSpec("XLEN", "XLEN key", "how many entries a stream holds", group="streams"),
    CommandSpec(
        "XRANGE",
        "XRANGE key start end [COUNT n]",
        "read entries by id, oldest first (- + for all): the history stays",
        group="streams",
    ),
    CommandSpec(
        "XREVRANGE", "XREVRANGE key end start [COUNT n]", "XRANGE, newest first", group="streams"
    ),
    CommandSpec(
        "XGROUP",
        "XGROUP CREATE key group id|$ [MKSTREAM] | SETID key group id | DESTROY key group"
        " | CREATECONSUMER key group consumer | DELCONSUMER key group consumer",
        "create a consumer group (0: from the first entry, $: only new ones), move its"
        " position, or remove it or one of its consumers",
        group="streams",
    ),
    CommandSpec(
        "XREADGROUP",
        "XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] STREAMS key [key ...] >",
        "read entries no consumer of the group has had (>) as one consumer; they stay pending"
        f" until XACK. BLOCK waits for one, at most {MAX_BLOCK * 1000:g} ms here",
        timeout="block",
        group="streams",
    ),
    CommandSpec(
        "XREAD",
        "XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...]",
        "read entries after an id, without a group (every reader sees every entry)",
        timeout="block",
        group="streams",
    ),
    CommandSpec(
        "XACK",
        "XACK key group id [id ...]",
        "acknowledge entries: done, no longer pending in the group",
        group="streams",
    ),
    CommandSpec(
        "XPENDING",
        "XPENDING key group [start end count [consumer]]",
        "what the group delivered and nobody acknowledged yet, and who holds it",
        group="streams",
    ),
    CommandSpec(
        "XAUTOCLAIM",
        "XAUTOCLAIM key group consumer min-idle-ms start [COUNT n]",
        "take over pending entries idle that long (a crashed consumer's work)",
        group="streams",
    ),
    CommandSpec(
        "XCLAIM",
        "XCLAIM key group consumer min-idle-ms id [id ...]",
        "take over given pending entries",
        group="streams",
    ),
    CommandSpec("XDEL", "XDEL key id [id ...]", "delete entries from a stream", group="streams"),
    CommandSpec("XTRIM", "XTRIM key MAXLEN n", "keep only the newest n entries", group="streams"),
    CommandSpec("SET", "SET key value [EX seconds]", "store a string", group="keys"),
    CommandSpec("GET", "GET key", "read a string", group="keys"),
    CommandSpec("INCR", "INCR key", "add 1 to a number stored as a string", group="keys"),
    CommandSpec("DECR", "DECR key", "subtract 1 from a number", group="keys"),
    CommandSpec("INCRBY", "INCRBY key increment", "add to a number", group="keys"),
    CommandSpec("APPEND", "APPEND key value", "add to the end of a string", group="keys"),
    CommandSpec("DEL", "DEL key [key ...]", "delete keys", group="keys"),
    CommandSpec(
        "UNLINK", "UNLINK key [key ...]", "delete keys, freeing memory later", group="keys"
    ),
    CommandSpec("EXISTS", "EXISTS key [key ...]", "how many of the keys exist", group="keys"),
    CommandSpec("TYPE", "TYPE key", "what kind of value a key holds", group="keys"),
    CommandSpec("EXPIRE", "EXPIRE key seconds", "delete a key after some seconds", group="keys"),
    CommandSpec("TTL", "TTL key", "seconds left before a key expires", group="keys"),
    CommandSpec("PERSIST", "PERSIST key", "cancel a key's expiry", group="keys"),
    CommandSpec("RENAME", "RENAME key newkey", "rename a key", group="keys"),
    CommandSpec(
        "HSET", "HSET key field value [field value ...]", "set fields of a hash", group="keys"
    ),
    CommandSpec("HGET", "HGET key field", "read one field of a hash", group="keys"),
    CommandSpec("HGETALL", "HGETALL key", "read a whole hash", group="keys"),
    CommandSpec("HDEL", "HDEL key field [field ...]", "delete fields of a hash", group="keys"),
    CommandSpec("SADD", "SADD key member [member ...]", "add to a set", group="keys"),
    CommandSpec("SREM", "SREM key member [member ...]", "remove from a set", group="keys"),
    CommandSpec("SMEMBERS", "SMEMBERS key", "read a set", group="keys"),
    CommandSpec(
        "ZADD", "ZADD key score member [score member ...]", "add to a sorted set", group="keys"
    ),
    CommandSpec("ZRANGE", "ZRANGE key start stop [WITHSCORES]", "read a sorted set", group="keys"),
    CommandSpec(
        "PUBLISH",
        "PUBLISH channel message",
        "send a message to whoever listens now; answers how many received it",
        group="pub/sub",
    ),
    CommandSpec(
        "SUBSCRIBE",
        "SUBSCRIBE channel [channel ...]",
        "open a listener lane that receives the channel's messages",
        group="pub/sub",
    ),
    CommandSpec(
        "PSUBSCRIBE",
        "PSUBSCRIBE pattern [pattern ...]",
        "open a listener lane for every channel matching a pattern (news.*)",
        group="pub/sub",
    ),
    CommandSpec(
        "UNSUBSCRIBE",
        "UNSUBSCRIBE [channel ...]",
        "close the listener lanes on these channels (all of them without a name)",
        group="pub/sub",
    ),
    CommandSpec(
        "PUNSUBSCRIBE",
        "PUNSUBSCRIBE [pattern ...]",
        "close the pattern listener lanes",
        group="pub/sub",
    ),
    CommandSpec(
        "PUBSUB",
        "PUBSUB NUMSUB [channel ...] | PUBSUB CHANNELS [pattern]",
        "how many listen to a channel; which channels have listeners",
        group="pub/sub",
    ),
    CommandSpec("PING", "PING [message]", "check the connection", group="server"),
    CommandSpec("ECHO", "ECHO message", "answer the message back", group="server"),
)

# Refused on every backend, with the reason: they reach beyond the keys this run created.
_SERVER_WIDE = "acts on the whole server, not only on this sandbox's keys"
REFUSED: dict[str, str] = {
    "FLUSHALL": "deletes every key of every database on the server",
    "FLUSHDB": "deletes every key of the database, other people's too",
    "KEYS": "walks the whole keyspace and blocks the server meanwhile; the live view below"
    " shows every key you touched",
    "SCAN": "lists keys beyond this sandbox; the live view shows every key you touched",
    "RANDOMKEY": _SERVER_WIDE,
    "DBSIZE": _SERVER_WIDE,
    "MONITOR": "shows every client's commands on the server",
    "CONFIG": "changes or reveals the server's settings",
    "SHUTDOWN": "stops the server",
    "DEBUG": "can stall or crash the server",
    "SWAPDB": "swaps whole databases",
    "MOVE": "moves a key to another database, outside the sandbox",
    "SELECT": "switches to another database, outside the sandbox",
    "COPY": "can write into another database",
    "MIGRATE": "moves keys to another server",
    "REPLICAOF": "turns the server into a replica",
    "SLAVEOF": "turns the server into a replica",
    "FAILOVER": "hands the server's role to a replica",
    "ACL": "changes who may do what on the server",
    "AUTH": "changes the connection's user",
    "HELLO": "changes the connection's protocol",
    "RESET": "resets the connection's state",
    "CLIENT": "acts on other clients' connections",
    "INFO": "reports on the whole server",
    "CLUSTER": _SERVER_WIDE,
    "SCRIPT": "scripts can touch any key",
    "EVAL": "a script can touch any key; its keys cannot be checked",
    "EVALSHA": "a script can touch any key; its keys cannot be checked",
    "FUNCTION": "functions can touch any key",
    "FCALL": "functions can touch any key",
    "SAVE": "writes the whole database to disk and blocks the server",
    "BGSAVE": "writes the whole database to disk",
    "BGREWRITEAOF": "rewrites the server's append-only file",
    "SLOWLOG": _SERVER_WIDE,
    "LATENCY": _SERVER_WIDE,
    "MEMORY": _SERVER_WIDE,
    "OBJECT": _SERVER_WIDE,
    "WAIT": "waits on the server's replicas",
}
NOT_HERE: dict[str, str] = {
    name: "a transaction needs a connection of its own; the sandbox sends one command at a time"
    for name in ("MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH")
}
NOT_HERE["BLMOVE"] = (
    "the embedded fakeredis answers it at once instead of waiting; use BRPOPLPUSH, which waits"
    " on both backends"
)
NOT_HERE["SSUBSCRIBE"] = "sharded pub/sub is for clusters; use SUBSCRIBE"
NOT_HERE["XINFO"] = (
    "its answer differs between the embedded fakeredis and Redis; the live view shows each"
    " stream's entries, groups and pending entries"
)

XGROUP_SUBCOMMANDS = {
    "CREATE": "XGROUP CREATE key group id|$ [MKSTREAM]",
    "SETID": "XGROUP SETID key group id|$",
    "DESTROY": "XGROUP DESTROY key group",
    "CREATECONSUMER": "XGROUP CREATECONSUMER key group consumer",
    "DELCONSUMER": "XGROUP DELCONSUMER key group consumer",
}

SHELL_WORDS = ("help", "history", "undo", "quit", "exit")
