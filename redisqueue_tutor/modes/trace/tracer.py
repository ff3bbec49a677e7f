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

import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import redis

from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.keyspace.specs import UnknownKeys, sent_shape, split_words
from redisqueue_tutor.modes.trace.pipe import Events, frame, wire
from redisqueue_tutor.modes.trace.redirect import is_own_code, program_line_of
from redisqueue_tutor.modes.trace.state import Raw, StateView
from redisqueue_tutor.run.backend import Backend
from redisqueue_tutor.run.passwords import (
    CARRY_PASSWORDS,
    masked_command,
    masked_text,
    passwords_in,
)
from redisqueue_tutor.run.recorder import shorten_value
from redisqueue_tutor.run.records import fold, freeze

FOLD_EVENT = 4096  # bytes: a step longer than this is looked at for values to fold
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

# A step's arguments (Tracer.step): actor, thread, action, commands, database, lists read, and
# for a step worked out later, the keys it wrote as they were found when it was sent.
_Step = tuple[str, str, str, list[Raw], int, dict[str, Any], dict[str, str] | None]
_CHANNEL_USERS = frozenset({"publish", "spublish", "subscribe", "psubscribe"})
OWN_THREADS = "tutor-"  # the tutor's threads in the program's process (endpoint, proxy, server)

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


class ClientName:
    """A client of the program (one connection pool): named after its variable at first use."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.name = ""
        self.pool: Any = None

    def resolve(self, frame: FrameType | None) -> str:
        if not self.name:
            self.name = _variable_for(self.pool, frame) or f"client{self.number}"
        return self.name


def _variable_for(pool: Any, frame: FrameType | None) -> str | None:
    while frame is not None:
        if _is_program(frame.f_code.co_filename):
            for scope in (frame.f_locals, frame.f_globals):
                for name, value in list(scope.items()):
                    if isinstance(value, redis.Redis) and value.connection_pool is pool:
                        return name
        frame = frame.f_back
    return None


# What is the program's own code, and the line of it running now: shared with the program's
# other processes (redirect.py).
_is_program = is_own_code


def program_line(script: str) -> str:
    """`line 5: r.lpush('queue', 'task1')`: the program's line that is running now."""
    return program_line_of(sys._getframe(1), script) or "(inside a library)"


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
        self.channels: set[str] = set()
        self.clients = 0
        # Waits until the records of clients the proxy serves are steps (endpoint.py sets it).
        self.drain: Callable[[float], None] = lambda _cap: None
        self.state = StateView(backend, self.channels, self.cond)
        self._no_password: set[Any] = set()  # first words of commands that carry no password
        self._masked: dict[str, str] = {}  # program line -> as shown, for _masked_for passwords
        self._masked_for = 0
        # A step to work out while the next command travels (step(later=True)), as its arguments.
        self._later: _Step | None = None
        self.defers = self.strict  # on a real server, where the next command travels meanwhile
        events.before = self.catch_up
        self._threads = (0, 0)  # (threads running, asking thread) when _others last looked
        self._others_now = False

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
        self.drain(SETTLE_CAP)  # records of the proxy's clients come first (endpoint.py)
        me = threading.get_ident()
        if not self._others(me):
            return  # the program runs one thread: nobody to take turns with
        deadline = time.monotonic() + SETTLE_CAP
        with self.waiting_here(), self.cond:
            self.turns.append(me)
            try:
                while True:
                    busy = [
                        t
                        for t in threading.enumerate()
                        if t.ident != me
                        and t.is_alive()
                        and t.ident not in self.waiting
                        and not t.name.startswith(OWN_THREADS)
                    ]
                    left = deadline - time.monotonic()
                    if (not busy and self.turns[0] == me) or left <= 0:
                        return
                    _real_cond_wait(self.cond, min(left, 0.01))
            finally:
                self.turns.remove(me)
                self.cond.notify_all()

    def threads_changed(self) -> None:
        """A thread starts (child.install): _others looks at the threads again."""
        self._threads = (0, 0)

    def _others(self, me: int) -> bool:
        """Whether the program runs threads besides this one (the tutor's own not counted);
        looked at again when the number of threads changes or a thread starts (every command
        asks)."""
        count = threading.active_count()
        if self._threads != (count, me):
            self._others_now = any(
                t.ident != me and not t.name.startswith(OWN_THREADS) for t in threading.enumerate()
            )
            self._threads = (count, me)
        return self._others_now

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
        """The command with its keys and channels in the run's namespace (Redis's own key
        specifications say which words they are), after the run's gate let it pass; raises
        Refused with the gate's one line."""
        if not args:
            return args
        try:
            shape = sent_shape(args)
        except UnknownKeys as exc:
            raise Refused(f"{_word(args[0]).upper()} is refused: {exc}") from None
        first = args[0]
        if type(first) is str and " " not in first and self.backend.gate.plain(shape):
            # Its only names are keys at the places its shape says, and the gate passes it
            # whatever keys of the run it names: namespaced here, without splitting its words.
            out = list(args)
            prefix = self.backend.namespace.prefix
            for index in shape.names:
                short = args[index] if type(args[index]) is str else _word(args[index])
                if not short:
                    break  # an empty name: the gate says why, below
                out[index] = prefix + short
            else:
                return tuple(out)
        words = split_words(args)
        positions = shape.names
        out = list(args)
        if positions:
            # redis-py sends "XGROUP CREATE" as one word: keep its shape.
            offset = len(words) - len(args)
            name = shape.spec.name
            namespace = self.backend.namespace
            for index in positions:
                short = words[index]
                full = namespace.key(short)
                out[index - offset] = full
                words[index] = full
                if name in _CHANNEL_USERS:
                    self.channels.add(short)  # one set operation: atomic
        problem = self.backend.gate.shaped_problem(shape, words, self.backend.namespace.short)
        if problem:
            raise Refused(problem)
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
    def _changed(
        self,
        records: list[Raw],
        db: int,
        lists: dict[str, Any] | None = None,
        written: dict[str, str] | None = None,
    ) -> list[tuple[str, str, Any]]:
        """The keys the step changed; none when they cannot be read (a reply redis-py cannot
        parse): the state view is the tutor's, its failure never the program's exception."""
        try:
            return self.state.changed(records, db, lists, written=written)
        except Exception:
            return []

    def keys_at_end(self) -> None:
        """Send the keys changed since the state view last read them (state.py)."""
        with self.lock:
            self.catch_up()
            try:
                changes = self.state.flush() if self.state.pending or self.state.expiring else []
            except Exception:  # the state view is the tutor's: never the program's exception
                changes = []
            if changes:
                self.events.send(
                    type="keys", keys=[[k, t, wire(self.value(v))] for k, t, v in changes]
                )

    def value(self, value: Any) -> Any:
        return value if self.whole else fold(value)

    def masked(self, line: str) -> str:
        """A program line as it may be shown: the passwords it names masked (passwords.py);
        remembered while the passwords stay the same (every command asks)."""
        if len(self.passwords) != self._masked_for:
            self._masked.clear()
            self._masked_for = len(self.passwords)
        found = self._masked.get(line)
        if found is None:
            if len(self._masked) > 4096:
                self._masked.clear()
            found = self._masked[line] = masked_text(line, self.passwords)
        return found

    def line(self) -> str:
        """The program line running now, masked."""
        return self.masked(program_line(self.script))

    def client_password(self, password: Any) -> None:
        """A password the program gave a client of its own (the tracer does not send it)."""
        if password:
            self.passwords.add(str(password))

    def step(
        self,
        actor: str,
        thread: str,
        action: str,
        commands: list[Raw],
        *,
        db: int = 0,
        lists: dict[str, Any] | None = None,
        later: bool = False,
    ) -> None:
        """One step: its commands raw, (client, words as sent, reply as read, error), for the
        tutor to make records of (parent.py), and the keys they changed.

        `later`: on a real server the step may be worked out while the program's next command
        travels (connection.py calls catch_up once it is sent; Events before anything else
        goes to the tutor): the same frame, off the program's path. Only when its state view
        reads nothing from the server (state.later). The program never holds the replies kept
        here: it gets them rebuilt (shorten)."""
        if not commands:
            return
        self.catch_up()
        given = lists or {}
        written = self._later_keys(commands, db, given) if later and self.defers else None
        step = (actor, thread, action, commands, db, given, written)
        if written is not None:
            self._later = step
            return
        self._step(step)

    def _later_keys(
        self, commands: list[Raw], db: int, given: dict[str, Any]
    ) -> dict[str, str] | None:
        """The keys a step wrote, if it may be worked out later (state.later); None if not."""
        if not all(words for _client, words, _reply, _error in commands):
            return None  # a pushed message: its listener is counted at once
        try:
            return self.state.later(commands, db, given)
        except Exception:  # as _changed: the state view's failure is never the program's
            return None

    def catch_up(self) -> None:
        """Work out the step left for later, if any (under the lock: the state view is one)."""
        if self._later is None:
            return
        with self.lock:
            later, self._later = self._later, None
            if later is not None:
                self._step(later)

    def forked(self) -> None:
        """In a fork: a step left for later is the process it was forked from's to send, and
        none is left for later here (a fork often ends with os._exit). The lock the fork was
        taken under (child.py) is let go."""
        self._later = None
        self.defers = False
        self.lock.release()

    def _step(self, step: _Step) -> None:
        actor, thread, action, commands, db, lists, written = step
        messages = 0
        for _client, words, reply, _error in commands:
            if not words:
                messages += _is_message(reply)
            elif words[0] not in self._no_password:
                if _word(words[0]).upper().split(" ")[0] in CARRY_PASSWORDS:
                    self.passwords.update(passwords_in(words))
                elif isinstance(words[0], str) and len(self._no_password) < 1024:
                    self._no_password.add(words[0])
        changes = self._changed(commands, db, lists, written)
        keys = [[k, t, wire(self.value(v))] for k, t, v in changes]
        # A step is a tuple, not a dict: the cheapest frame (pipe.py; parent.Events reads it).
        action = self.masked(action)
        try:
            data = frame(("step", actor, thread, action, commands, keys))
        except ValueError:  # a reply of a kind marshal does not know: written as JSON would be
            data = frame(("step", actor, thread, action, [self.wired(c) for c in commands], keys))
        if not self.whole and len(data) > FOLD_EVENT:  # a long value: folded here, not sent
            data = frame(("step", actor, thread, action, [self.wired(c) for c in commands], keys))
        self.events.write_frame(data)
        if messages:
            with self.cond:
                self.delivered += messages
                self.cond.notify_all()

    def wired(self, command: Raw) -> list[Any]:
        """A command as a run file writes it (folded unless whole), names short and passwords
        masked: for a value too long, or of a kind, that the raw frame cannot carry."""
        client, words, reply, error = command
        short = self.backend.namespace.short
        args = masked_command(tuple(short(w) if isinstance(w, str) else w for w in words))
        reply = shorten_value(freeze(reply), short)
        return [client, [wire(self.value(a)) for a in args], wire(self.value(reply)), error, 1]


def _is_message(reply: Any) -> bool:
    kind = reply[0] if isinstance(reply, list | tuple) and reply else None
    return _word(kind) in ("message", "pmessage", "smessage") if kind is not None else False


def _word(arg: Any) -> str:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg).decode("utf-8", "replace")
    return str(arg)


TRACER: Tracer | None = None  # this process's Tracer, set by child.main


def current() -> Tracer:
    assert TRACER is not None, "the tracer is not installed"
    return TRACER
