"""The sandbox: Redis commands a learner types, run for real, recorded like a lesson's steps.

Every command goes through the Backend seam, so it is recorded (the same execution table as a
lesson) and namespaced: the key and channel arguments the learner types are mapped into the run's
namespace by a table of what each command's arguments mean. A command that is not in that table is
refused, because on somebody's server we cannot tell which of its words are keys; commands that
touch the whole server (FLUSHALL, KEYS, CONFIG, ...) are refused everywhere, with the reason.

SUBSCRIBE and PSUBSCRIBE open a listener lane: a client of its own with a background thread, as a
Django app would run it. PUBLISH waits until Redis has delivered the message to every receiver it
counted, so the row shows who received what.

Undo replays the history without its last command on a fresh namespace (a fresh server on the fake
backend), then removes the old one: the recorded rows are never edited.

No printing here: render_sandbox.py draws, sandbox_shell.py reads lines.
"""

from __future__ import annotations

import difflib
import fnmatch
import shlex
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any, cast

import redis

from redisqueue_tutor.keyspace.specs import UnknownKeys, channel_positions, key_positions, lookup
from redisqueue_tutor.lessons.engine import (
    DELIVERY_TIMEOUT,
    StreamEntries,
    Subscribers,
    observe_key,
)
from redisqueue_tutor.lessons.model import Client, Concept, Lesson, StateKey, Step
from redisqueue_tutor.run.backend import (
    Backend,
    BackendError,
    blocking_seconds,
    hold_signals,
    open_backend,
    signals_as_exit,
)
from redisqueue_tutor.run.passwords import masked_command, masked_line
from redisqueue_tutor.run.records import CommandRecord, StepRecord, Value, fold, freeze, python_text
from redisqueue_tutor.wording import counted, joined, noun

YOU = "you"
MAX_BLOCK = 10.0  # seconds a blocking command may wait: the prompt must come back
MAX_HISTORY = 500


class Refused(Exception):
    """A line the sandbox will not send, with one line that says why and what to do instead."""


class Cancelled(Exception):
    """Ctrl-C stopped a blocking command's wait: the session goes on, nothing was recorded."""


@dataclass(frozen=True)
class CommandSpec:
    """One command the sandbox can send: its syntax, what it does, and where its keys are.

    Where its keys and channels are comes from Redis's own key specifications (commandspecs.py).
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


@dataclass(frozen=True)
class Live:
    """One key or channel the learner touched, as it is now: for the live view."""

    name: str
    kind: str  # list, string, hash, set, zset, none, channel, pattern
    value: str


def suggestion(word: str) -> str:
    close = difflib.get_close_matches(word.upper(), list(COMMANDS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def parse(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise Refused(f"cannot read that line ({exc}); quote a value with spaces: 'a b'") from None


def spec_for(name: str) -> CommandSpec:
    upper = name.upper()
    if upper in COMMANDS:
        return COMMANDS[upper]
    if upper in REFUSED:
        raise Refused(f"{upper} is refused in the sandbox: it {REFUSED[upper]}.")
    if upper in NOT_HERE:
        raise Refused(f"{upper} is not in the sandbox: {NOT_HERE[upper]}.")
    raise Refused(
        f"unknown command {name!r}{suggestion(name)}; type help for the commands the sandbox knows"
    )


def _text(word: Any) -> str:
    return word.decode() if isinstance(word, bytes) else str(word)


def _number(word: str, what: str) -> float:
    try:
        return float(word)
    except ValueError:
        raise Refused(f"{what} must be a number, not {word!r}") from None


class Lane:
    """A listener lane: a subscriber client with a background thread that collects messages."""

    POLL = 0.05

    def __init__(
        self, session: Session, name: str, kind: str, names: list[str], sent: list[str]
    ) -> None:
        self.session = session
        self.name = name
        self.kind = kind  # SUBSCRIBE or PSUBSCRIBE
        self.names = names  # as the learner typed them
        self._sent = sent  # namespaced
        self.received: list[tuple[str, Value]] = []
        self.pubsub = session.backend.client(name).pubsub()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._confirmed = 0
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"tutor-sandbox-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self._ready.wait(DELIVERY_TIMEOUT):
            self.stop()
            raise Refused(f"{self.name} did not get its subscription confirmed in time")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(DELIVERY_TIMEOUT)

    def _run(self) -> None:
        pubsub = self.pubsub
        try:
            if self.kind == "PSUBSCRIBE":
                pubsub.psubscribe(*self._sent)
            else:
                pubsub.subscribe(*self._sent)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=self.POLL)
                if message is None:
                    continue
                if message["type"] in ("message", "pmessage"):
                    self.session._heard(self, message)
                elif message["type"] in ("subscribe", "psubscribe"):
                    self._confirmed += 1
                    if self._confirmed >= len(self._sent):
                        self._ready.set()
            if self.kind == "PSUBSCRIBE":
                pubsub.punsubscribe()
            else:
                pubsub.unsubscribe()
            # Read the confirmations so the recorder logs them with the UNSUBSCRIBE.
            for _ in range(20):
                if not pubsub.subscribed:
                    break
                pubsub.get_message(timeout=self.POLL)
        except BaseException as exc:  # reported to the main thread by start()
            self._error = exc
            self._ready.set()
        finally:
            with suppress(Exception):
                pubsub.close()


class Session:
    """One generation of a sandbox: a backend, the learner's client, lanes, and the rows so far."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.ns = backend.namespace
        self.client = backend.client(YOU)
        self.records: list[StepRecord] = []
        self.keys: dict[str, None] = {}  # touched keys, in order
        self.channels: dict[str, None] = {}
        self.patterns: dict[str, None] = {}
        self.lanes: dict[str, Lane] = {}  # open lanes
        self.lane_names: list[str] = []  # every lane ever opened (for colours of old rows)
        self._arrived = threading.Condition()
        self.start = StepRecord(0, "", "Start", (), "", (), ())
        self._previous = self.start

    # -- what the renderer reads -------------------------------------------------------------
    @property
    def lesson(self) -> Lesson:
        """A lesson-shaped description of the session, so render.execution_table can draw it."""
        # model_construct: the learner's key names need not be lesson identifiers.
        return Lesson.model_construct(
            format=1,
            id="sandbox",
            title="Sandbox",
            level="beginner",
            summary="Your own commands.",
            concept=Concept.model_construct(flow=["You type"], text="Your commands.", snapshot=[]),
            clients=[Client.model_construct(name=n) for n in (YOU, *self.lane_names)],
            state=[StateKey.model_construct(key=k, type="list") for k in self.keys],
            channels=[*self.channels, *self.patterns],
            variables=[],
            steps=[Step.model_construct(actor=YOU, action="-") for _ in self.records] or [],
            moments=[],
            questions=[],
            end_note="",
            compare=[],
        )

    def live(self) -> tuple[Live, ...]:
        observer = self.backend.observer
        rows = []
        for key in self.keys:
            name = self.ns.key(key)
            kind = _text(observer.type(name))
            if kind == "none":
                rows.append(Live(key, kind, "(no such key)"))
                continue
            text = python_text(fold(self._value(name)))
            if kind == "stream":
                text = "\n".join([text, *self._groups(name)])
            rows.append(Live(key, kind, text))
        for channel in self.channels:
            count = observer.pubsub_numsub(self.ns.key(channel))[0][1]
            rows.append(Live(channel, "channel", repr(Subscribers(count)) + self._who(channel)))
        for pattern in self.patterns:
            lanes = [n for n, lane in self.lanes.items() if pattern in lane.names]
            rows.append(
                Live(pattern, "pattern", repr(Subscribers(len(lanes))) + self._who(pattern))
            )
        return tuple(rows)

    def _value(self, name: str) -> Value:
        """What a key holds now; a stream as its entries ([1-1 task=a]), as the lessons show it."""
        observer = self.backend.observer
        if _text(observer.type(name)) == "stream":
            return StreamEntries(cast(Any, freeze(observer.xrange(name))))
        return observe_key(observer, name)

    def _groups(self, name: str) -> list[str]:
        """Each consumer group of a stream: how far it has read, and who holds what is pending."""
        observer = self.backend.observer
        lines = []
        for group in cast(list[dict[str, Any]], observer.xinfo_groups(name)):
            summary = cast(dict[str, Any], observer.xpending(name, group["name"]))
            holders = ", ".join(f"{c['name']}: {c['pending']}" for c in summary["consumers"] or [])
            pending = (
                f"{counted(summary['pending'], 'entry', 'entries')} pending ({holders})"
                if summary["pending"]
                else "nothing pending"
            )
            lines.append(
                f"group {group['name']}: read up to {group['last-delivered-id']}, {pending}"
            )
        return lines

    def _who(self, name: str) -> str:
        lanes = [n for n, lane in self.lanes.items() if name in lane.names]
        return f" ({joined(lanes)})" if lanes else ""

    # -- running one line --------------------------------------------------------------------
    def run(self, words: list[str]) -> StepRecord:
        spec = spec_for(words[0])
        args = words[1:]
        self._check_blocking(spec, args)
        self._check_stream_words(spec, args)
        sent, touched = self._namespaced(spec, args)
        mark = self.backend.log.mark()
        actor, action = YOU, "You"
        if spec.name in ("SUBSCRIBE", "PSUBSCRIBE"):
            actor, output = self._subscribe(spec.name, args, sent)
            action = f"{actor} subscribes"
        elif spec.name in ("UNSUBSCRIBE", "PUNSUBSCRIBE"):
            actor, output = self._unsubscribe(spec.name, args)
            action = f"{actor} unsubscribes"
        else:
            output = self._send(spec.name, sent)
        for kind, name in touched:
            self._touch(kind, name)
        record = StepRecord(
            number=len(self.records) + 1,
            actor=actor,
            action=action,
            commands=self._ordered(self.backend.log.since(mark), actor),
            output=output,
            state=self._observe(),
            variables=(),
        )
        changed = {f"state:{k}" for k, v in record.state if self._previous.state_map.get(k) != v}
        record = replace(record, changed=frozenset(changed))
        self._previous = record
        self.records.append(record)
        return record

    def _touch(self, kind: str, name: str) -> None:
        {"key": self.keys, "channel": self.channels, "pattern": self.patterns}[kind][name] = None

    def _check_blocking(self, spec: CommandSpec, args: list[str]) -> None:
        if spec.timeout is None or not args:
            return
        if spec.timeout == "block":
            upper = [a.upper() for a in args]
            if "BLOCK" not in upper:
                return
            at = upper.index("BLOCK") + 1
            word = args[at] if at < len(args) else ""
            most = f"{MAX_BLOCK * 1000:g}"
            milliseconds = _number(word, f"the BLOCK of {spec.name}")
            if milliseconds <= 0 or milliseconds > MAX_BLOCK * 1000:
                raise Refused(
                    f"in the sandbox {spec.name} may BLOCK 1 to {most} ms, so the prompt comes"
                    f" back (0 would wait forever): e.g. BLOCK 5000"
                )
            return
        word = args[-1] if spec.timeout == "last" else args[0]
        seconds = _number(word, f"the timeout of {spec.name}")
        if seconds <= 0 or seconds > MAX_BLOCK:
            raise Refused(
                f"in the sandbox {spec.name} may wait 0.1 to {MAX_BLOCK:g} seconds, so the prompt"
                f" comes back (0 would wait forever): e.g. {spec.name} {' '.join(args[:-1] or ['queue'])} 5"
                if spec.timeout == "last"
                else f"in the sandbox {spec.name} may wait 0.1 to {MAX_BLOCK:g} seconds"
            )

    def _check_stream_words(self, spec: CommandSpec, args: list[str]) -> None:
        """Refuse what the key table cannot place: then no name could leave the namespace."""
        if spec.name == "XGROUP":
            sub = args[0].upper() if args else ""
            if sub not in XGROUP_SUBCOMMANDS:
                raise Refused(f"the sandbox knows {COMMANDS['XGROUP'].syntax}")
            if len(args) < 3:
                raise Refused(f"XGROUP {sub} needs a key and a group: {XGROUP_SUBCOMMANDS[sub]}")
        elif spec.name in ("XREAD", "XREADGROUP"):
            upper = [a.upper() for a in args]
            after = len(args) - upper.index("STREAMS") - 1 if "STREAMS" in upper else 0
            if after < 2 or after % 2:
                raise Refused(
                    f"{spec.name} ends with STREAMS, then the keys, then one id for each key:"
                    f" {spec.syntax}"
                )

    def _namespaced(
        self, spec: CommandSpec, args: list[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """The words to send, keys and channels under the namespace; and what they touch."""
        key = self.ns.key
        if spec.name == "PUBSUB":
            return self._pubsub_args(args)
        if spec.name in ("LMPOP", "BLMPOP"):
            at = 0 if spec.name == "LMPOP" else 1
            if len(args) > at:
                count = _number(args[at], "numkeys")
                if count < 1 or count != int(count):
                    raise Refused("numkeys must be a whole number of keys, 1 or more")
        # Where the names are: Redis's own key specifications (commandspecs.py), as for
        # `tutor trace`; the run's gate checks the result again as it is sent.
        words = [spec.name, *args]
        try:
            keys = key_positions(words) if (found := lookup(words)) and found.keys else []
        except UnknownKeys as exc:
            raise Refused(
                f"{spec.name} {exc}" if not str(exc).startswith(spec.name) else str(exc)
            ) from None
        channels, patterns = channel_positions(words)
        sent = list(words)
        touched = []
        for index in sorted({*keys, *channels, *patterns}):
            kind = "pattern" if index in patterns else "channel" if index in channels else "key"
            sent[index] = key(words[index])
            touched.append((kind, words[index]))
        return sent, touched

    def _pubsub_args(self, args: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        sub = args[0].upper() if args else ""
        if sub == "NUMSUB":
            return ["PUBSUB", "NUMSUB", *(self.ns.key(a) for a in args[1:])], [
                ("channel", a) for a in args[1:]
            ]
        if sub == "CHANNELS":
            if len(args) > 2:
                raise Refused("PUBSUB CHANNELS takes at most one pattern")
            return ["PUBSUB", "CHANNELS", self.ns.key(args[1] if len(args) > 1 else "*")], []
        raise Refused("the sandbox knows PUBSUB NUMSUB [channel ...] and PUBSUB CHANNELS [pattern]")

    def _send(self, name: str, sent: list[str]) -> str:
        """Send one command as the learner; the Output is what redis-py hands a program."""
        heard = {lane.name: len(lane.received) for lane in self.lanes.values()}
        try:
            reply = self.client.execute_command(*sent)
        except redis.ResponseError as exc:
            return f"ResponseError: {exc}"
        except KeyboardInterrupt:
            if blocking_seconds(tuple(sent)) is None:
                raise  # Ctrl-C outside a wait ends the sandbox, as at the prompt
            # Closing the connection ends the wait on a real server at once (Redis drops a
            # blocked client whose socket closes), so it cannot take what is pushed next; on
            # fakeredis the wait ran on this thread and is over already. redis-py closed it too.
            with suppress(Exception):
                self.client.connection_pool.disconnect()
            raise Cancelled(
                f"stopped waiting: {' '.join([name, *(self.ns.short(w) for w in sent[1:])])}"
                " was cancelled with Ctrl-C and is not in the table (Ctrl-C at the prompt ends"
                " the sandbox)"
            ) from None
        output = python_text(fold(self._short(freeze(reply))))
        if name == "PUBLISH" and isinstance(reply, int) and reply > 0:
            # Redis counts every receiver on the server; wait for the sandbox's own lanes only.
            channel = self.ns.short(sent[1])
            own = sum(
                fnmatch.fnmatchcase(channel, n) if lane.kind == "PSUBSCRIBE" else n == channel
                for lane in self.lanes.values()
                for n in lane.names
            )
            self._wait_for_delivery(sum(heard.values()) + min(own, reply))
            if reply > own:
                output += f"\n(Redis also counted {reply - own} outside this sandbox: another client of this server)"
            for lane in self.lanes.values():
                for channel, data in lane.received[heard.get(lane.name, 0) :]:
                    output += f"\n{lane.name} got {python_text(fold(data))} on {channel}"
        return output

    def _subscribe(self, command: str, names: list[str], sent: list[str]) -> tuple[str, str]:
        if not names:
            raise Refused(f"{command} needs a channel: {COMMANDS[command].syntax}")
        name = f"listener{len(self.lane_names) + 1}"
        lane = Lane(self, name, command, names, sent[1:])
        self.lane_names.append(name)
        lane.start()
        self.lanes[name] = lane
        what = noun(len(names), "pattern" if command == "PSUBSCRIBE" else "channel")
        return name, f"{name} listens to {what} {joined(names)}"

    def _unsubscribe(self, command: str, names: list[str]) -> tuple[str, str]:
        kind = "PSUBSCRIBE" if command == "PUNSUBSCRIBE" else "SUBSCRIBE"
        chosen = [
            lane
            for lane in self.lanes.values()
            if lane.kind == kind and (not names or set(names) & set(lane.names))
        ]
        if not chosen:
            where = " to " + joined(names, "or") if names else ""
            opener = "PSUBSCRIBE" if kind == "PSUBSCRIBE" else "SUBSCRIBE"
            raise Refused(f"no listener lane is subscribed{where}; {opener} opens one")
        for lane in chosen:
            lane.stop()
            del self.lanes[lane.name]
        return chosen[0].name, joined(lane.name for lane in chosen) + " stopped listening"

    def _heard(self, lane: Lane, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "backslashreplace")
        with self._arrived:
            lane.received.append((self.ns.short(str(channel)), freeze(message["data"])))
            self._arrived.notify_all()

    def _delivered(self) -> int:
        return sum(len(lane.received) for lane in self.lanes.values())

    def _wait_for_delivery(self, total: int) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: self._delivered() >= total, DELIVERY_TIMEOUT)

    def _ordered(
        self, commands: tuple[CommandRecord, ...], actor: str
    ) -> tuple[CommandRecord, ...]:
        # Listeners read concurrently with the publisher: the sender first, then lanes in order.
        # A password a command carries is masked in the row (passwords.py).
        rank = {name: i for i, name in enumerate((YOU, *self.lane_names))}
        ordered = sorted(commands, key=lambda c: (c.client != actor, rank.get(c.client, 99)))
        return tuple(
            replace(c, args=masked_command(c.args), sent=masked_command(c.sent)) for c in ordered
        )

    def _short(self, value: Value) -> Value:
        if isinstance(value, str):
            return self.ns.short(value)
        if isinstance(value, tuple):
            return tuple(self._short(v) for v in value)
        return value

    def _observe(self) -> tuple[tuple[str, Value], ...]:
        observer = self.backend.observer
        state: list[tuple[str, Value]] = [(key, self._value(self.ns.key(key))) for key in self.keys]
        for channel in self.channels:
            state.append((channel, Subscribers(observer.pubsub_numsub(self.ns.key(channel))[0][1])))
        for pattern in self.patterns:
            count = sum(pattern in lane.names for lane in self.lanes.values())
            state.append((pattern, Subscribers(count)))
        return tuple(state)

    def close(self) -> None:
        for lane in list(self.lanes.values()):
            lane.stop()
        self.lanes.clear()


@contextmanager
def _generation(spec: str | None) -> Iterator[Session]:
    """A backend and a session on it; on exit its namespace is removed (as `running` does).

    Not `running()` itself: undo opens a new generation while the old one is still open, and
    running's signal handlers would then be restored out of order. The sandbox holds the signals
    once for all its generations (Sandbox.__enter__).
    """
    backend = open_backend(spec)
    session: Session | None = None
    failure: BaseException | None = None
    try:
        backend.start()
        session = Session(backend)
        yield session
    except BaseException as exc:
        failure = exc
        raise
    finally:
        if session is not None:
            session.close()
        clean = not isinstance(failure, redis.TimeoutError | BackendError)
        with suppress(redis.RedisError):
            backend.close(clean=clean)


class Sandbox:
    """The learner's sandbox: lines in, records out; undo by replaying on a fresh namespace."""

    def __init__(self, spec: str | None, *, opener: Callable[[str | None], Any] = _generation):
        self.spec = spec
        self._open = opener
        self.lines: list[str] = []  # as typed, for undo's replay; `history` masks passwords
        self._context: Any = None
        self.session: Session
        self._signals: Any = None

    def __enter__(self) -> Sandbox:
        self._signals = signals_as_exit()
        self._signals.__enter__()
        try:
            self._context = self._open(self.spec)
            self.session = self._context.__enter__()
        except BaseException:
            self._signals.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            hold_signals()
            if self._context is not None:
                self._context.__exit__(*exc)
        finally:
            self._signals.__exit__(None, None, None)

    @property
    def backend(self) -> Backend:
        return self.session.backend

    def run(self, line: str) -> StepRecord:
        words = parse(line)
        if not words:
            raise Refused("type a Redis command, or help")
        if len(self.lines) >= MAX_HISTORY:
            raise Refused(f"the sandbox keeps {MAX_HISTORY} commands; undo some or start again")
        record = self.session.run(words)
        self.lines.append(line.strip())
        return record

    @property
    def history(self) -> list[str]:
        """The commands so far, as they may be shown: a password masked as ***."""
        return [masked_line(line) for line in self.lines]

    def undo(self) -> str:
        """Replay every command but the last on a fresh namespace (as typed, passwords and all);
        returns the command undone, as it may be shown."""
        if not self.lines:
            raise Refused("nothing to undo yet")
        keep = self.lines[:-1]
        fresh = self._open(self.spec)
        session = fresh.__enter__()
        try:
            for line in keep:
                session.run(parse(line))
        except BaseException as exc:
            fresh.__exit__(type(exc), exc, exc.__traceback__)
            raise
        old, self._context, self.session = self._context, fresh, session
        old.__exit__(None, None, None)  # removes the old namespace
        return masked_line(self.lines.pop())
