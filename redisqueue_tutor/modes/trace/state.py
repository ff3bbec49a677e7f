"""The state view of a traced run: the keys its commands changed, as Redis holds them.

Only the keys a command may have written are read (Redis's key specifications say which:
specs.written_positions), and those with a time to live, which change by themselves; a key whose
type and value the tutor already has is not sent again. So the cost of a step does not grow with
the length of the run or the number of keys it named: the old view read every key named so far
after every command (3,606 reads for RQ's 116 commands).

What is read when follows what is shown. A list is read after the step that changed it, since
the table's Queue column shows every list at every step. Any other key is shown only in "Keys at
the end": it is marked changed and read at most every FLUSH_EVERY seconds and when the program
ends, so a program that sets one hash 10,000 times costs a few reads, not 10,000.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from redisqueue_tutor.keyspace.gate import SCRIPTS
from redisqueue_tutor.keyspace.specs import UnknownKeys, sent_shape, split_words
from redisqueue_tutor.run.backend import Backend
from redisqueue_tutor.run.fakeserver import NotAList, read_list
from redisqueue_tutor.run.records import Value, as_read, freeze

# A step's command: (client, words as sent, reply as read, error); as tracer.Raw.
Raw = tuple[str, tuple[Any, ...], Any, "str | None"]
FLUSH_EVERY = 0.25  # seconds between reads of the keys that are not lists

# redis.Redis() in the program's process is the program's, routed through the trace once
# child.install has run: the view's own clients are built with the original.
_real_redis_init = redis.Redis.__init__


class StateView:
    def __init__(self, backend: Backend, channels: set[str], lock: threading.Condition) -> None:
        self.backend = backend
        self.channels = channels  # names the program used as channels (never keys), under lock
        self.lock = lock
        self.sent: dict[str, tuple[str, Any]] = {}  # what the tutor last got for each key
        # Keys with a time to live, and their database: read again after every step there.
        self.expiring: dict[tuple[str, int], None] = {}
        # Keys that are not lists, changed since they were last read: (short name, db) -> type.
        self.pending: dict[tuple[str, int], str] = {}
        self._flushed = time.monotonic()
        self._observers: dict[int, redis.Redis] = {}
        # Keys a lesson shows at every step (a hash of unacked messages, say): read after each
        # step that wrote them, as lists are, not at the next flush.
        self.watch: frozenset[str] = frozenset()

    def observer_for(self, db: int) -> redis.Redis:
        """A client that reads database `db` as Redis holds it (bytes that are not text stay
        bytes); not recorded."""
        if db not in self._observers:
            pool = self.backend.connection_pool(
                "observer", record=False, decode_responses=False, db=db
            )
            observer = redis.Redis.__new__(redis.Redis)
            _real_redis_init(observer, connection_pool=pool)
            self._observers[db] = observer
        return self._observers[db]

    def label(self, short: str, db: int) -> str:
        """A key's name in the view: `status`, or `status (db 2)` in another database."""
        return short if db == self.backend.default_db else f"{short} (db {db})"

    def written(self, commands: list[Raw]) -> dict[str, str]:
        """Short names of the keys these commands may have written, in order, each with the type
        its command works on ("list" for LPUSH; "" for DEL, EXPIRE and the like)."""
        namespace = self.backend.namespace
        names: dict[str, str] = {}
        for _client, sent, _reply, _error in commands:
            if not sent:
                continue
            try:
                shape = sent_shape(sent)
            except UnknownKeys:
                continue
            # A script writes what it names (its KEYS, and the ARGV it takes as names).
            positions = shape.names if shape.spec.name in SCRIPTS else shape.written
            kind = _kind_of(shape.spec.categories) if positions else ""
            # The places are those of the words as Redis splits them ("XGROUP CREATE" is two).
            words: Any = sent if type(sent[0]) is str and " " not in sent[0] else split_words(sent)
            if not positions:
                continue
            for index in positions:
                full = words[index]
                if isinstance(full, str) and full.startswith(namespace.prefix):
                    names.setdefault(namespace.short(full), kind)
        if not names:
            return names
        with self.lock:
            return {n: k for n, k in names.items() if n not in self.channels}

    def lists_written(self, sent: tuple[Any, ...]) -> list[str]:
        """Short names of the lists a command of the list family may change (LPUSH's, LMOVE's
        two): what a real server's connection reads in the same round trip as the command
        (connection.py), instead of a round trip of its own after it."""
        try:
            shape = sent_shape(sent)
        except UnknownKeys:
            return []
        if not shape.written or _kind_of(shape.spec.categories) != "list":
            return []
        prefix = self.backend.namespace.prefix
        found = [
            word[len(prefix) :]
            for index in shape.written
            if isinstance(word := sent[index], str) and word.startswith(prefix)
        ]
        return [n for n in dict.fromkeys(found) if n not in self.channels]

    def changed(
        self,
        records: list[Raw],
        db: int,
        given: dict[str, Any] | None = None,
        *,
        written: dict[str, str] | None = None,
    ) -> list[tuple[str, str, Value]]:
        """(name, type, value) of each key to show as changed after a step in database `db`
        (type "none" for a key that is gone): the lists it changed, read now (or as `given`, read
        with the command), and every other key changed since the last read, when FLUSH_EVERY
        has passed. `written`: the keys as later() found them, for a step worked out after the
        program's next command was sent: nothing is read then, not even a flush that fell due."""
        lists: list[str] = []
        unknown: dict[str, str] = {}
        names = self.written(records) if written is None else written
        for name, kind in names.items():
            expected = self._expected(name, kind, db)
            # Every key is read again, with its type and time to live, at the next flush.
            self.pending[(name, db)] = expected
            if expected == "list":
                lists.append(name)
            elif not expected or name in self.watch:  # a type not known yet: TYPE tells
                unknown[name] = expected
        changes = self.read_lists(lists, db, given or {}) if lists else []
        if unknown:
            changes += self.read(unknown, db)
        if written is None and self.pending and time.monotonic() - self._flushed >= FLUSH_EVERY:
            changes += self.flush()
        return changes

    def _expected(self, name: str, kind: str, db: int) -> str:
        """The type a written key is read as: the one the tutor has for it, or its command's."""
        known = self.sent.get(self.label(name, db), ("",))[0]
        return known if known not in ("", "none") else kind

    def later(self, records: list[Raw], db: int, given: dict[str, Any]) -> dict[str, str] | None:
        """The keys these records wrote (as written() says, now: a name the program uses as a
        channel later stays a key here), when changed() needs to read nothing of the server for
        them: every list read with its command (`given`) and every other key of a known type,
        with no flush due. Then changed(written=...) may run after the program's next command is
        sent and show the same (tracer.step). None when it would read."""
        if time.monotonic() - self._flushed >= FLUSH_EVERY:
            return None
        if any(isinstance(items, Exception) for items in given.values()):
            return None
        names = self.written(records)
        for name, kind in names.items():
            expected = self._expected(name, kind, db)
            if not expected or (expected == "list" and name not in given):
                return None
            if name in self.watch and expected != "list":
                return None  # read at once (changed)
        return names

    def read_lists(
        self, names: list[str], db: int, given: dict[str, Any]
    ) -> list[tuple[str, str, Value]]:
        """Lists, read with LRANGE alone (one command each, one round trip) unless `given`: a
        list that is not there reads as empty, since Redis removes a list when it is emptied; a
        key that turned out to be of another type is read whole."""
        changes: list[tuple[str, str, Value]] = []
        other: dict[str, str] = {}
        unread = [n for n in names if n not in given]
        read = dict(zip(unread, self._lists(unread, db), strict=True)) if unread else {}
        for name in names:
            items = given[name] if name in given else read[name]
            if isinstance(items, Exception):
                other[name] = ""
                continue
            kind = "list" if items else "none"
            ttl = 1 if (name, db) in self.expiring else -1  # the flush reads it again
            if change := self._news(name, db, kind, ttl, items):
                changes.append(change)
        return changes + (self.read(other, db) if other else [])

    def _lists(self, names: list[str], db: int) -> list[Any]:
        """Each list's items (an exception for a key of another type): on the embedded server
        read in place, on a real one with LRANGE in one round trip."""
        namespace = self.backend.namespace
        if self.backend.kind == "fake":
            out: list[Any] = []
            for name in names:
                try:
                    out.append(read_list(self.backend.server, db, namespace.key(name).encode()))
                except NotAList as exc:
                    out.append(exc)
            return out
        pipe = self.observer_for(db).pipeline(transaction=False)
        for name in names:
            pipe.lrange(namespace.key(name), 0, -1)
        return list(pipe.execute(raise_on_error=False))

    def flush(self) -> list[tuple[str, str, Value]]:
        """Read every key marked changed, and those with a time to live."""
        self._flushed = time.monotonic()
        for key in self.expiring:
            self.pending.setdefault(key, self.sent.get(self.label(*key), ("",))[0])
        by_db: dict[int, dict[str, str]] = {}
        for (name, db), kind in self.pending.items():
            by_db.setdefault(db, {})[name] = kind
        self.pending.clear()
        return [change for db, names in by_db.items() for change in self.read(names, db)]

    def read(self, names: dict[str, str], db: int) -> list[tuple[str, str, Value]]:
        """Read these keys of database `db` in one round trip: each one's type, time to live and
        value, read as the type it is expected to have; a second round trip only for a key whose
        type turned out otherwise."""
        namespace = self.backend.namespace
        full = {n: namespace.key(n) for n in names}
        expected = names
        observer = self.observer_for(db)
        pipe = observer.pipeline(transaction=False)
        for name in names:
            pipe.type(full[name])
            pipe.pttl(full[name])
            _READERS.get(expected[name], _exists)(pipe, full[name])
        answers = pipe.execute(raise_on_error=False)
        kinds = {n: as_read(answers[3 * i]) for i, n in enumerate(names)}
        values = {n: _pairs(kinds[n], answers[3 * i + 2]) for i, n in enumerate(names)}
        again = [n for n in names if kinds[n] not in (expected[n], "none")]
        if again:
            pipe = observer.pipeline(transaction=False)
            for name in again:
                _READERS.get(kinds[name], _exists)(pipe, full[name])
            read = pipe.execute(raise_on_error=False)
            values.update({n: _pairs(kinds[n], v) for n, v in zip(again, read, strict=True)})
        ttls = {n: answers[3 * i + 1] for i, n in enumerate(names)}
        return [
            change
            for short in names
            if (change := self._news(short, db, kinds[short], ttls[short], values[short]))
        ]

    def _news(
        self, short: str, db: int, kind: str, ttl: Any, raw: Any
    ) -> tuple[str, str, Value] | None:
        """What the tutor is told of one key read: None when it has it already."""
        if isinstance(ttl, int) and ttl > 0:
            self.expiring.setdefault((short, db), None)
        else:
            self.expiring.pop((short, db), None)
        label = self.label(short, db)
        if kind == "none":
            read = None
        elif isinstance(raw, Exception):
            read = f"<{kind}>"
        else:
            read = as_read(raw)
        value = freeze(read)
        if self.sent.get(label) == (kind, value):
            return None  # unchanged: the tutor has it
        if kind == "none" and label not in self.sent:
            return None  # never there
        self.sent[label] = (kind, value)
        return (label, kind, value)


_CATEGORY_KINDS = {
    "@string": "string",
    "@list": "list",
    "@hash": "hash",
    "@set": "set",
    "@sortedset": "zset",
    "@stream": "stream",
    "@geo": "zset",  # a geo index is a sorted set
}


@functools.cache
def _kind_of(categories: frozenset[str]) -> str:
    """The type of key a command works on, from its ACL categories; "" when it is generic."""
    return next((k for c, k in _CATEGORY_KINDS.items() if c in categories), "")


def _pairs(kind: str, raw: Any) -> Any:
    """A sorted set read raw as (member, score) pairs, as redis-py gives them: the score a float
    where it reads as one."""
    if kind != "zset" or not isinstance(raw, list):
        return raw
    if raw and all(isinstance(item, list | tuple) for item in raw):  # RESP3: [member, score]
        flat = [part for item in raw for part in item]
    else:
        flat = raw
    return [(member, _score(score)) for member, score in zip(flat[::2], flat[1::2], strict=False)]


def _score(score: Any) -> Any:
    try:
        return float(score)
    except (TypeError, ValueError):
        return score


def _exists(pipe: Any, name: str) -> Any:
    return pipe.exists(name)


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "list": lambda pipe, name: pipe.lrange(name, 0, -1),
    "string": lambda pipe, name: pipe.get(name),
    "hash": lambda pipe, name: pipe.hgetall(name),
    "set": lambda pipe, name: pipe.smembers(name),
    # Raw, without redis-py's float parsing of the scores (zset_pairs reads them): a reply it
    # cannot parse must not become the program's exception (fakeredis gives a geo set's
    # scores as geohashes).
    "zset": lambda pipe, name: pipe.execute_command("ZRANGE", name, 0, -1, "WITHSCORES"),
    "stream": lambda pipe, name: pipe.xrange(name),
}
