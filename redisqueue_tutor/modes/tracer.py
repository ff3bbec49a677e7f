"""Inside the traced program's own process: every redis-py client goes through the tutor's Backend.

`tutor trace` (trace.py) starts `python -m redisqueue_tutor.modes.tracer SCRIPT ARGS...` with its
settings in $TUTOR_TRACE and a pipe for events. Here, before the program runs:

- `redis.Redis(...)` (so `StrictRedis`), `Redis.from_url` and `redis.from_url` build their client on
  `backend.connection_pool(...)`, keeping the program's decode_responses: one shared fakeredis
  server for every client, or the real server the user named.
- The pool's connection class gets a mixin (on top of the recorder's) that prefixes key and channel
  names with the run's namespace on the way out and shortens them on the way back (see keyspace.py),
  and sends one event per command, pipeline or received message: who sent it, the program line
  that did, the commands and replies, and the keys the program touched.
- `print` output is sent as events too, tagged with its thread, so the table can put each line in
  the row of the command it followed, and the program's output never mixes with the table.

Runs are made repeatable, so the same program gives the same table on both backends:

- One command is recorded (and the keys read) at a time, under one lock held from send to reply.
- Before a thread sends a command it lets the other threads of the program run until each waits
  (on Redis, in sleep, join or a condition) or a short cap passes: a listener thread subscribes
  before the main thread publishes, a consumer is back in BRPOP before the next push.
- After a PUBLISH that reached listeners, the publisher waits (capped) until they have read it; after
  a push that wakes a blocked BRPOP, the keys are read once the blocked client has its element
  (a real server hands it over at once; fakeredis does it on the woken thread).
"""

from __future__ import annotations

import functools
import json
import linecache
import os
import re
import runpy
import sys
import sysconfig
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import redis

from redisqueue_tutor.keyspace.blocking import BLOCKS_ON, SUBSCRIBING
from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.keyspace.specs import UnknownKeys, name_positions, split_words
from redisqueue_tutor.run.backend import Backend, FakeBackend, Namespace, RedisBackend
from redisqueue_tutor.run.connections import GateMixin
from redisqueue_tutor.run.passwords import masked_command, masked_text, passwords_in
from redisqueue_tutor.run.recorder import CommandLog
from redisqueue_tutor.run.records import (
    CommandRecord,
    FoldedBytes,
    FoldedStr,
    Shortened,
    fold,
    fold_lines,
    freeze,
)
from redisqueue_tutor.run.runfile import encode_value

ENV = "TUTOR_TRACE"
SETTLE_CAP = 0.5  # seconds a thread waits for the others to settle before it goes on anyway
DELIVERY_CAP = 1.0  # seconds a publisher waits for listeners to read what it published
ARRIVAL_GRACE = 0.02  # seconds for a blocking command to reach a real server before it counts
WAKE_CAP = 0.5  # seconds a push waits for the BRPOP it woke to take its element
_PUSHES = frozenset(
    [
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LMOVE",
        "RPOPLPUSH",
        "BLMOVE",
        "BRPOPLPUSH",
        "LINSERT",
        "XADD",
        "ZADD",
    ]
)

_real_sleep = time.sleep
_real_cond_wait = threading.Condition.wait
_real_join = threading.Thread.join


def thread_label(thread: threading.Thread | None = None) -> str:
    """main, the explicit name of a thread, or the function a default-named thread runs."""
    thread = thread or threading.current_thread()
    if thread is threading.main_thread():
        return "main"
    found = re.fullmatch(r"Thread-\d+ \((.+)\)", thread.name)
    return found.group(1) if found else thread.name


class Events:
    """JSON lines to the tutor, one event each, written whole under a lock."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, **event: Any) -> None:
        line = json.dumps(event, ensure_ascii=False)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class ThreadOutput:
    """sys.stdout / sys.stderr of the program: each thread's lines become events of that thread.

    Buffered per thread up to the newline, since print() writes the text and the newline apart
    and two threads printing at once would otherwise cut each other's lines.
    """

    def __init__(self, events: Events, stream: str) -> None:
        self.events = events
        self.name = stream
        self.encoding = "utf-8"
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        me = threading.get_ident()
        with self._lock:
            buffered = self._partial.pop(me, "") + text
            complete, newline, rest = buffered.rpartition("\n")
            if rest:
                self._partial[me] = rest
        if newline:
            self._send(complete + newline)
        return len(text)

    def _send(self, text: str) -> None:
        if TRACER is not None and not TRACER.whole:
            text = fold_lines(text)
        self.events.send(type="output", stream=self.name, thread=thread_label(), text=text)

    def flush(self) -> None:
        with self._lock:
            rest = self._partial.pop(threading.get_ident(), "")
        if rest:
            self._send(rest)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("the traced program's output is captured")


class ClientName:
    """A client of the program (one connection pool): named after its variable at first use."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.name = ""
        self.pool: Any = None

    def resolve(self, frame: Any) -> str:
        if not self.name:
            self.name = _variable_for(self.pool, frame) or f"client{self.number}"
        return self.name


def _variable_for(pool: Any, frame: Any) -> str | None:
    while frame is not None:
        if _is_program(frame.f_code.co_filename):
            for scope in (frame.f_locals, frame.f_globals):
                for name, value in list(scope.items()):
                    if isinstance(value, redis.Redis) and value.connection_pool is pool:
                        return name
        frame = frame.f_back
    return None


_LIBRARY = tuple(
    os.path.realpath(p)
    for p in {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        os.path.dirname(os.path.dirname(redis.__file__)),
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # the whole tutor
    }
)


@functools.lru_cache(maxsize=256)
def _is_program(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_LIBRARY)


def program_line(script: str) -> str:
    """`line 5: r.lpush('queue', 'task1')`: the program's line that is running now."""
    frame: Any = sys._getframe(1)
    while frame is not None and not _is_program(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "(inside a library)"
    filename = frame.f_code.co_filename
    number = frame.f_lineno
    code = linecache.getline(filename, number).strip()
    where = (
        f"line {number}"
        if os.path.realpath(filename) == script
        else (f"{os.path.basename(filename)}:{number}")
    )
    return f"{where}: {code}" if code else where


class Tracer:
    """The shared state of one traced run inside the program's process."""

    def __init__(
        self, backend: Backend, events: Events, script: str, fast: bool, whole: bool = False
    ) -> None:
        self.backend = backend
        self.events = events
        self.script = script
        self.fast = fast
        # Whole values only for a run file (--output); the screen shows long ones folded, so
        # without one they are folded here and a 10 MB value never crosses the pipe.
        self.whole = whole
        self.sent_keys: dict[str, tuple[str, Any]] = {}  # what the tutor last got for each key
        # Passwords the program used (its clients' own, AUTH, HELLO ... AUTH): never shown.
        self.passwords: set[str] = set()
        self.strict = backend.kind != "fake"
        self.lock = threading.RLock()  # one command recorded, and the keys read, at a time
        self.cond = threading.Condition(threading.Lock())  # guards the fields below
        self.waiting: dict[int, int] = {}  # thread ident -> nesting of waits (it is settled)
        self.blocked: dict[int, frozenset[str]] = {}  # thread ident -> keys it blocks on
        self.turns: list[int] = []  # settling threads, first come first served
        self.delivered = 0  # pub/sub messages read by the program's listeners
        self.listening: set[int] = set()  # subscribed connections that the program reads
        self.touched: dict[str, None] = {}  # short names of keys and channels, in order
        self.channels: set[str] = set()
        self.clients = 0
        self.observer = backend.observer

    # -- settling ---------------------------------------------------------------------------
    @contextmanager
    def waiting_here(self) -> Iterator[None]:
        """The calling thread waits (on Redis, sleep, a condition): the others need not wait for it."""
        me = threading.get_ident()
        with self.cond:
            self.waiting[me] = self.waiting.get(me, 0) + 1
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.waiting[me] -= 1
                if not self.waiting[me]:
                    del self.waiting[me]
                self.cond.notify_all()

    @contextmanager
    def blocked_here(self, keys: frozenset[str]) -> Iterator[None]:
        """The calling thread sent a blocking pop on `keys`: a push to one of them may wake it."""
        me = threading.get_ident()
        with self.cond:
            self.blocked[me] = keys
        try:
            yield
        finally:
            with self.cond:
                self.blocked.pop(me, None)
                self.cond.notify_all()

    def settle(self) -> None:
        """Wait for the program's other threads to wait, then take turns in arrival order.

        A thread that settles counts as waiting for the others, so two never wait for each other;
        among settling threads the first to arrive goes first, so the interleaving is the same on
        every run. Capped at SETTLE_CAP, for a thread that waits on something we cannot see.
        """
        me = threading.get_ident()
        deadline = time.monotonic() + SETTLE_CAP
        with self.waiting_here(), self.cond:
            self.turns.append(me)
            try:
                while True:
                    busy = [
                        t
                        for t in threading.enumerate()
                        if t.ident != me and t.is_alive() and t.ident not in self.waiting
                    ]
                    left = deadline - time.monotonic()
                    if (not busy and self.turns[0] == me) or left <= 0:
                        return
                    _real_cond_wait(self.cond, min(left, 0.01))
            finally:
                self.turns.remove(me)
                self.cond.notify_all()

    def wait_for_wake(self, keys: set[str]) -> set[int]:
        """After a push: wait until a client blocked on one of `keys` has taken its element.

        Returns the threads it woke."""
        deadline = time.monotonic() + WAKE_CAP
        with self.cond:
            before = {t for t, k in self.blocked.items() if k & keys}
            while before and before <= set(self.blocked):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _real_cond_wait(self.cond, left)
            return before - set(self.blocked)

    def hand_over(self, woken: set[int]) -> None:
        """Let the threads a push woke run until they wait again (a worker back in BRPOP)."""
        deadline = time.monotonic() + SETTLE_CAP
        with self.waiting_here(), self.cond:
            alive = {t.ident for t in threading.enumerate() if t.is_alive()}
            while (woken & alive) - set(self.waiting):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                _real_cond_wait(self.cond, min(left, 0.01))
                alive = {t.ident for t in threading.enumerate() if t.is_alive()}

    def wait_for_delivery(self, target: int) -> None:
        deadline = time.monotonic() + DELIVERY_CAP
        with self.cond:
            while self.delivered < target and self.listening:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                _real_cond_wait(self.cond, left)

    # -- names ------------------------------------------------------------------------------
    def prefix(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        words = [_word(a) for a in args]
        if not words:
            return args
        try:
            positions = name_positions(split_words(words))
        except UnknownKeys as exc:
            raise Refused(f"{words[0].upper()} is refused: {exc}") from None
        if not positions:
            return args
        if " " in words[0]:  # redis-py sends "XGROUP CREATE" as one word: keep its shape
            positions = [index - 1 for index in positions]
        out = list(args)
        name = words[0].upper()
        with self.cond:
            for index in positions:
                short = words[index]
                if name.split()[0] == "PUBSUB":  # asks about channels or a pattern: touches nothing
                    out[index] = self.backend.namespace.key(short)
                    continue
                self.touched.setdefault(short, None)
                if name in ("PUBLISH", "SPUBLISH", "SUBSCRIBE", "PSUBSCRIBE"):
                    self.channels.add(short)
                out[index] = self.backend.namespace.key(short)
        return tuple(out)

    def shorten(self, value: Any) -> Any:
        """A reply as the program would get it from its own server: names without the prefix."""
        prefix = self.backend.namespace.prefix
        if isinstance(value, str):
            return value.removeprefix(prefix)
        if isinstance(value, bytes):
            return value.removeprefix(prefix.encode())
        if isinstance(value, list):
            return [self.shorten(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.shorten(v) for v in value)
        if isinstance(value, dict):
            return {self.shorten(k): self.shorten(v) for k, v in value.items()}
        return value

    # -- one step ---------------------------------------------------------------------------
    def keys_now(self) -> list[list[Any]]:
        """[name, type, value] for every key the program named (channels left out)."""
        with self.cond:
            names = [n for n in self.touched if n not in self.channels]
        if not names:
            return []
        full = [self.backend.namespace.key(n) for n in names]
        pipe = self.observer.pipeline(transaction=False)
        for name in full:
            pipe.type(name)
        kinds = pipe.execute()
        pipe = self.observer.pipeline(transaction=False)
        for name, kind in zip(full, kinds, strict=True):
            _read_command(pipe, name, _word(kind))
        values = pipe.execute(raise_on_error=False)
        out: list[list[Any]] = []
        for short, kind, value in zip(names, kinds, values, strict=True):
            kind = _word(kind)
            if kind == "none":
                value = None
            elif isinstance(value, Exception):
                value = f"<{kind}>"
            value = freeze(value)
            if self.sent_keys.get(short) == (kind, value):
                out.append([short, kind])  # unchanged since the last step: the tutor has it
            else:
                self.sent_keys[short] = (kind, value)
                out.append([short, kind, wire(self.value(value))])
        return out

    def value(self, value: Any) -> Any:
        return value if self.whole else fold(value)

    def masked(self, line: str) -> str:
        """A program line as it may be shown: the passwords it names masked (passwords.py)."""
        return masked_text(line, self.passwords)

    def line(self) -> str:
        """The program line running now, masked."""
        return self.masked(program_line(self.script))

    def client_password(self, password: Any, url: str = "") -> None:
        """A password the program gave a client of its own (the tracer does not send it)."""
        if url:
            with suppress(ValueError):
                password = password or urlsplit(url).password
        if password:
            self.passwords.add(unquote(str(password)) if url else str(password))

    def step(
        self, actor: str, thread: str, action: str, records: tuple[CommandRecord, ...]
    ) -> None:
        if not records:
            return
        names = [a for r in records for a in r.args[1:] if a in self.touched]
        messages = sum(1 for r in records if not r.args and _is_message(r.reply))
        for r in records:
            self.passwords.update(passwords_in(r.args))
        self.events.send(
            type="step",
            actor=actor,
            thread=thread,
            action=self.masked(action),
            commands=[
                {
                    "client": r.client,
                    "args": [wire(self.value(a)) for a in masked_command(r.args)],
                    "reply": wire(self.value(r.reply)),
                    "error": r.error,
                }
                for r in records
            ],
            names=list(dict.fromkeys(names)),
            keys=self.keys_now(),
        )
        if messages:
            with self.cond:
                self.delivered += messages
                self.cond.notify_all()


def wire(value: Any) -> Any:
    """A value as JSON for the pipe to the tutor: a run file's encoding (runfile.encode_value),
    plus the folded values that only travel on this pipe (trace.unwire reads them)."""
    if isinstance(value, FoldedStr):
        return {"folded": str(value), "size": value.size}
    if isinstance(value, FoldedBytes):
        return {"folded": encode_value(bytes(value)), "size": value.size}
    if isinstance(value, Shortened):
        return {"shortened": [wire(value.head), wire(value.tail)], "length": value.length}
    if isinstance(value, tuple | list):
        return [wire(v) for v in value]
    return encode_value(value)


def _is_message(reply: Any) -> bool:
    kind = reply[0] if isinstance(reply, tuple) and reply else None
    return _word(kind) in ("message", "pmessage", "smessage") if kind is not None else False


def _read_command(pipe: Any, name: str, kind: str) -> None:
    readers: dict[str, Callable[[], Any]] = {
        "list": lambda: pipe.lrange(name, 0, -1),
        "string": lambda: pipe.get(name),
        "hash": lambda: pipe.hgetall(name),
        "set": lambda: pipe.smembers(name),
        "zset": lambda: pipe.zrange(name, 0, -1, withscores=True),
        "stream": lambda: pipe.xrange(name),
    }
    readers.get(kind, lambda: pipe.exists(name))()


def _word(arg: Any) -> str:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg).decode("utf-8", "replace")
    return str(arg)


TRACER: Tracer | None = None


class TraceMixin:
    """On top of the recorder's connection: namespacing, one lock per command, one event per step.

    Each connection records into a log of its own, so the records of one step never mix with
    another thread's.
    """

    _in_handshake: bool

    def __init__(self, *args: Any, command_log: CommandLog, lane: str, **kwargs: Any) -> None:
        tracer = _tracer()
        self._trace_client: ClientName = kwargs.pop("trace_client")
        self._own_log = CommandLog(shorten=tracer.backend.namespace.short)
        self._expect = 0  # replies still to read under the lock
        self._mark = 0
        self._pubsub = False
        self._blocking: Any = None
        # A subscribed connection's replies are read later, by a different line (listen()): the
        # line that sent each command, kept until its reply is recorded.
        self._sent_from: deque[str] = deque()
        super().__init__(*args, command_log=self._own_log, lane=lane, **kwargs)  # type: ignore[call-arg]

    @property
    def _lane(self) -> str:
        return _lane_now(self._trace_client)

    @_lane.setter
    def _lane(self, value: str) -> None:
        pass  # the recorder sets a fixed lane; ours is the thread or client of each command

    # -- sending ----------------------------------------------------------------------------
    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if self._in_handshake or not args:
            super().send_command(*args, **kwargs)  # type: ignore[misc]
            return
        tracer = _tracer()
        name = _word(args[0]).upper()
        sent = self._checked(tracer, args)
        if name in SUBSCRIBING:
            self._pubsub = True
        if self._pubsub:  # the reply is read later, by whoever listens
            self._sent_from.append(program_line(tracer.script))
            super().send_command(*sent, **kwargs)  # type: ignore[misc]
            return
        tracer.settle()
        if name in BLOCKS_ON:
            # Waiting for data is not a step yet: no lock; the reply is recorded when it comes.
            # fakeredis blocks inside send (its Condition.wait marks the thread as waiting); a
            # real server blocks once the command has arrived, shortly after it is sent.
            self._blocking = tracer.blocked_here(frozenset(_word(a) for a in sent[1:]))
            self._blocking.__enter__()
            try:
                super().send_command(*sent, **kwargs)  # type: ignore[misc]
            except BaseException:
                self._end_blocking()
                raise
            if tracer.strict:
                _real_sleep(ARRIVAL_GRACE)
            return
        tracer.lock.acquire()
        self._expect, self._mark = 1, self._own_log.mark()
        try:
            super().send_command(*sent, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._release()
            raise

    def pack_commands(self, commands: Any) -> Any:
        if self._in_handshake:
            return super().pack_commands(commands)  # type: ignore[misc]
        tracer = _tracer()
        commands = [self._checked(tracer, tuple(c)) for c in commands]
        tracer.settle()
        tracer.lock.acquire()
        self._expect, self._mark = len(commands), self._own_log.mark()
        try:
            return super().pack_commands(commands)  # type: ignore[misc]
        except BaseException:
            self._release()
            raise

    def _checked(self, tracer: Tracer, args: tuple[Any, ...]) -> tuple[Any, ...]:
        try:
            prefixed = tracer.prefix(args)
            tracer.backend.gate.check(prefixed)  # the connection checks again as it sends
            return prefixed
        except Refused as exc:
            tracer.events.send(type="refused", message=str(exc), action=tracer.line())
            raise

    # -- reading ----------------------------------------------------------------------------
    def can_read(self, *args: Any, **kwargs: Any) -> bool:
        if not self._pubsub:
            return bool(super().can_read(*args, **kwargs))  # type: ignore[misc]
        with self._idle(_tracer()):
            return bool(super().can_read(*args, **kwargs))  # type: ignore[misc]

    def _idle(self, tracer: Tracer) -> AbstractContextManager[None]:
        pending = getattr(self, "_pending", ())
        return nullcontext() if pending else tracer.waiting_here()

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if self._in_handshake:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        tracer = _tracer()
        if self._expect:
            return self._read_locked(tracer, *args, **kwargs)
        blocking = getattr(self, "_blocking", None)
        mark = self._own_log.mark()
        try:
            if self._pubsub:
                with tracer.cond:
                    tracer.listening.add(id(self))
                # Waiting for a reply (a SUBSCRIBE's confirmation) is not waiting for messages:
                # others go on only once the server has confirmed the subscription.
                with self._idle(tracer):
                    reply = super().read_response(*args, **kwargs)  # type: ignore[misc]
            elif blocking is not None:
                with tracer.waiting_here():
                    reply = super().read_response(*args, **kwargs)  # type: ignore[misc]
            else:
                reply = super().read_response(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._end_blocking()
            if blocking is not None or self._pubsub:
                with tracer.lock:
                    self._emit(tracer, mark)
        return tracer.shorten(reply)

    def _read_locked(self, tracer: Tracer, *args: Any, **kwargs: Any) -> Any:
        try:
            reply = super().read_response(*args, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._emit(tracer, self._mark)
            self._release()
            raise
        self._expect -= 1
        if not self._expect:
            records = self._own_log.since(self._mark)
            try:
                pushed = {
                    r.sent[i] for r in records if r.name in _PUSHES for i in range(1, len(r.sent))
                }
                woken = tracer.wait_for_wake(pushed) if pushed else set()
                self._emit(tracer, self._mark)
            finally:
                self._release()
            if woken:
                tracer.hand_over(woken)
            published = sum(
                r.reply for r in records if r.name == "PUBLISH" and isinstance(r.reply, int)
            )
            if published:
                with tracer.cond:
                    target = tracer.delivered + published
                tracer.wait_for_delivery(target)
        return tracer.shorten(reply)

    def _emit(self, tracer: Tracer, mark: int) -> None:
        records = self._own_log.since(mark)
        if records:
            action = program_line(tracer.script)
            # A reply to a command sent earlier names the line that sent it; a pushed message
            # (no command) the line that read it.
            senders = [self._sent_from.popleft() for r in records if r.args and self._sent_from]
            tracer.step(
                _lane_now(self._trace_client),
                thread_label(),
                senders[0] if senders else action,
                records,
            )

    def _release(self) -> None:
        self._expect = 0
        with suppress(RuntimeError):
            _tracer().lock.release()

    def _end_blocking(self) -> None:
        blocking = getattr(self, "_blocking", None)
        if blocking is not None:
            self._blocking = None
            blocking.__exit__(None, None, None)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        if self._expect:
            self._release()
        if self._pubsub:
            tracer = _tracer()
            with tracer.cond:
                tracer.listening.discard(id(self))
                tracer.cond.notify_all()
        self._pubsub = False
        self._sent_from.clear()
        super().disconnect(*args, **kwargs)  # type: ignore[misc]


def _lane_now(client: ClientName) -> str:
    thread = threading.current_thread()
    if thread is threading.main_thread():
        return client.resolve(sys._getframe(1))
    return thread_label(thread)


def _tracer() -> Tracer:
    assert TRACER is not None, "the tracer is not installed"
    return TRACER


# --------------------------------------------------------------------------------------------------
# Installing it into redis-py


_traced_classes: dict[type, type] = {}


def traced_class(base: type) -> type:
    if base not in _traced_classes:
        _traced_classes[base] = type(f"Traced{base.__name__}", (TraceMixin, base), {})
    return _traced_classes[base]


def traced_pool(decode_responses: bool) -> redis.ConnectionPool:
    tracer = _tracer()
    with tracer.cond:
        tracer.clients += 1
        label = ClientName(tracer.clients)
    pool = tracer.backend.connection_pool(
        f"client{label.number}", decode_responses=decode_responses
    )
    pool.connection_class = traced_class(pool.connection_class)
    pool.connection_kwargs["trace_client"] = label
    label.pool = pool
    return pool


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def install() -> None:
    """Route every client the program makes through the backend, and instrument waiting."""
    original_init = redis.Redis.__init__

    @functools.wraps(original_init)
    def init(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        pool = kwargs.get("connection_pool")
        tracer.client_password(kwargs.get("password", args[3] if len(args) > 3 else None))
        if pool is not None:
            tracer.client_password(pool.connection_kwargs.get("password"))
            decode = _truthy(pool.connection_kwargs.get("decode_responses", False))
        else:
            # decode_responses is Redis()'s 16th positional parameter; programs pass it by name.
            decode = _truthy(kwargs.get("decode_responses", False))
        kwargs.pop("single_connection_client", None)
        original_init(self, connection_pool=traced_pool(decode))

    def from_url(cls: type[redis.Redis], url: str, **kwargs: Any) -> redis.Redis:
        tracer.client_password(kwargs.get("password"), str(url))
        decode = kwargs.get("decode_responses")
        if decode is None:
            found = re.search(r"[?&]decode_responses=([^&]*)", url)
            decode = bool(found) and _truthy(found.group(1) if found else "")
        return cls(decode_responses=_truthy(decode))

    redis.Redis.__init__ = init  # type: ignore[method-assign]
    redis.Redis.from_url = classmethod(from_url)  # type: ignore[method-assign, assignment]
    redis.from_url = lambda url, **kw: redis.Redis.from_url(url, **kw)  # type: ignore[assignment]
    redis.utils.from_url = redis.from_url  # type: ignore[attr-defined]

    tracer = _tracer()
    refuse_asyncio(tracer)
    refuse_own_connections(tracer)

    def sleep(seconds: float) -> None:
        with tracer.waiting_here():
            _real_sleep(0 if tracer.fast else seconds)

    def cond_wait(self: threading.Condition, timeout: float | None = None) -> bool:
        with tracer.waiting_here():
            return _real_cond_wait(self, timeout)

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        with tracer.waiting_here():
            _real_join(self, timeout)

    time.sleep = sleep  # type: ignore[assignment]
    threading.Condition.wait = cond_wait  # type: ignore[method-assign]
    threading.Thread.join = join  # type: ignore[method-assign]


def refuse_asyncio(tracer: Tracer) -> None:
    """Stop the program when it opens a redis.asyncio client, before it can send anything.

    Its connections are not redis-py's sync classes, so nothing above would route or record
    them: the client would reach the host the program names (another program's keys on a real
    server), even when tracing on the embedded fakeredis. Refused at construction (a client, a
    pool or a connection), since none of them connects until its first command.
    """
    import redis.asyncio.client
    import redis.asyncio.cluster
    import redis.asyncio.connection
    import redis.asyncio.sentinel

    def refuse(cls: type) -> None:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            tracer.client_password(kwargs.get("password"))
            stop_refused(
                tracer,
                f"the program opened redis.asyncio.{type(self).__name__}; `tutor trace` does not"
                " record asyncio clients yet, so nothing was sent (use redis.Redis to trace it)",
            )

        cls.__init__ = init  # type: ignore[misc]

    for cls in (
        redis.asyncio.client.Redis,
        redis.asyncio.connection.ConnectionPool,
        redis.asyncio.connection.AbstractConnection,
        redis.asyncio.cluster.RedisCluster,
        redis.asyncio.sentinel.Sentinel,
    ):
        refuse(cls)


def refuse_own_connections(tracer: Tracer) -> None:
    """Stop the program when it builds a sync connection of its own (redis.Connection(...), a
    ConnectionPool's get_connection()) instead of going through redis.Redis: such a connection
    reaches the host the program names, past the tracer and the gate, like an asyncio one.

    The tutor's own connections carry the gate (connections.GateMixin); a fakeredis connection
    the program makes for itself stays in its process.
    """
    original = redis.connection.AbstractConnection.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(self, GateMixin) and not type(self).__module__.startswith("fakeredis"):
            tracer.client_password(kwargs.get("password"))
            stop_refused(
                tracer,
                f"the program opened a redis.{type(self).__name__} of its own, outside"
                " redis.Redis; `tutor trace` cannot record it, so nothing was sent",
            )
        original(self, *args, **kwargs)

    redis.connection.AbstractConnection.__init__ = init  # type: ignore[method-assign]


def stop_refused(tracer: Tracer, message: str) -> None:
    """Tell the tutor the program is refused, and end its process right here: a program that
    catches every exception cannot go on past it."""
    tracer.events.send(type="refused", message=message, action=tracer.line())
    with suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(2)


# --------------------------------------------------------------------------------------------------
# The process


def _backend(settings: dict[str, Any]) -> Backend:
    namespace = Namespace(settings["prefix"])
    if settings["kind"] == "fake":
        return FakeBackend(namespace)
    return RedisBackend(settings["url"], namespace)


def _error_line(exc: BaseException, script: str) -> str:
    """`line 7: ZeroDivisionError: division by zero`, at the program's own deepest line."""
    line = ""
    for frame, number in traceback.walk_tb(exc.__traceback__):
        if os.path.realpath(frame.f_code.co_filename) == script:
            line = f"line {number}: "
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return line + (text[-1] if text else type(exc).__name__)


def _program_traceback(exc: BaseException) -> str:
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if _is_program(f.filename) or f.filename == "<string>"
    ]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def main(argv: list[str]) -> int:
    settings = json.loads(os.environ.pop(ENV))
    script = os.path.realpath(argv[0])
    stream = os.fdopen(int(settings["fd"]), "w", encoding="utf-8", buffering=1)
    events = Events(stream)
    global TRACER
    backend = _backend(settings)
    TRACER = Tracer(
        backend, events, script, bool(settings["fast"]), bool(settings.get("whole", False))
    )
    install()
    sys.stdout = ThreadOutput(events, "stdout")  # type: ignore[assignment]
    sys.stderr = ThreadOutput(events, "stderr")  # type: ignore[assignment]
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(script)
    status, message, code = "finished", "", 0
    main_thread = threading.get_ident()
    try:
        runpy.run_path(script, run_name="__main__")
    except Refused as exc:
        status, message, code = "refused", str(exc), 2
    except SystemExit as exc:
        if exc.code not in (None, 0):
            status, code = "error", 1
            message = f"the program exited with status {exc.code}"
            if not isinstance(exc.code, int):
                message = str(exc.code)
    except BaseException as exc:  # the program's own failure: its line, then its traceback
        status, message, code = "error", _error_line(exc, script), 1
        events.send(type="output", stream="stderr", thread="main", text=_program_traceback(exc))
    # The main thread is done: it no longer holds the others back while they finish.
    with TRACER.cond:
        TRACER.waiting[main_thread] = 1
    sys.stdout.flush()
    sys.stderr.flush()
    events.send(type="end", status=status, message=message)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
