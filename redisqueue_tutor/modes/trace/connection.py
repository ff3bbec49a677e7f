"""The connection every redis-py client of a traced program is built on: namespacing (keys and
channels under the run's namespace, by Redis's own key specifications), one lock per command so
records never mix, and one event per command, pipeline or received message.

It records by itself, raw: each connection keeps the words it sent and the replies it read since
its last step, a tuple each, and the step event carries them as they are (tracer.py); the tutor's
side turns them into records (parent.py). Building records here cost more than the command.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any

from redis.exceptions import ResponseError

from redisqueue_tutor.keyspace.blocking import BLOCKS_ON, SUBSCRIBING
from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.modes.trace.state import Raw
from redisqueue_tutor.modes.trace.tracer import (
    _PUSHES,
    ARRIVAL_GRACE,
    ClientName,
    Tracer,
    _real_sleep,
    _word,
    current,
    program_line,
    thread_label,
)
from redisqueue_tutor.run.recorder import HandshakeMarked, _text


class TraceMixin(HandshakeMarked):
    """On a gated connection (connections.py): namespacing, one lock per command, one event per
    step, and the recording itself."""

    gate_checked: Any  # the gated connection's (connections.GateMixin)

    def __init__(self, *args: Any, command_log: Any = None, lane: str = "", **kwargs: Any) -> None:
        # command_log and lane are the recorder's (a recording backend's pool): not used here.
        self._trace_client: ClientName = kwargs.pop("trace_client")
        self._pending: deque[tuple[Any, ...]] = deque()  # sent, their replies not read yet
        self._raw: list[tuple[tuple[Any, ...], Any, str | None]] = []  # read since the last step
        self._expect = 0  # replies still to read under the lock
        self._pubsub = False
        self._blocking: Any = None
        # A subscribed connection's replies are read later, by a different line (listen()): the
        # line that sent each command, kept until its reply is recorded.
        self._sent_from: deque[str] = deque()
        self._in_multi = False  # MULTI sent, EXEC or DISCARD not yet: nothing may be added
        self._lists_sent: list[str] = []  # lists whose LRANGE follows the command (real server)
        self._lists_read: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    # -- sending ----------------------------------------------------------------------------
    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if self._in_handshake or not args:
            super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        tracer = current()
        name = _word(args[0]).upper()
        sent = self._checked(tracer, args)
        if name in SUBSCRIBING:
            self._pubsub = True
        if self._pubsub:  # the reply is read later, by whoever listens
            self._sent_from.append(program_line(tracer.script))
            self._send(sent, kwargs)
            return
        tracer.settle()
        if name in BLOCKS_ON:
            # Waiting for data is not a step yet: no lock; the reply is recorded when it comes.
            # fakeredis blocks inside send (its Condition.wait marks the thread as waiting); a
            # real server blocks once the command has arrived, shortly after it is sent.
            self._blocking = tracer.blocked_here(frozenset(_word(a) for a in sent[1:]))
            self._blocking.__enter__()
            try:
                self._send(sent, kwargs)
            except BaseException:
                self._end_blocking()
                raise
            if tracer.strict:
                _real_sleep(ARRIVAL_GRACE)
            return
        tracer.lock.acquire()
        self._expect = 1
        self._raw = []
        try:
            if name == "MULTI" or name in _TRANSACTION_ENDS:
                self._in_multi = name == "MULTI"
            lists = tracer.state.lists_written(sent) if tracer.strict and not self._in_multi else []
            if lists:
                self._send_reading(sent, lists, tracer)
            else:
                self._send(sent, kwargs)
        except BaseException:
            self._release()
            raise

    def _send_reading(self, sent: tuple[Any, ...], lists: list[str], tracer: Tracer) -> None:
        """Send the command and, packed after it, LRANGE of each list it may change: the state
        view's read costs no round trip of its own on a real server (the program reads the
        command's reply; _read_lists reads the others, undecoded, before it returns)."""
        key = tracer.backend.namespace.key
        reads = [("LRANGE", key(n), 0, -1) for n in lists]
        self._pending.append(sent)
        self._lists_sent = lists
        commands = [sent, *reads]
        self.gate_checked = commands  # the command passed the gate; the reads are the run's
        packed = super().pack_commands(commands)  # type: ignore[no-untyped-call]
        self.send_packed_command(packed)  # type: ignore[no-untyped-call]

    def _read_lists(self) -> dict[str, Any]:
        """The replies to the LRANGEs sent with the command: each list's items, or the error of
        a key that is not a list."""
        lists, self._lists_sent = self._lists_sent, []
        found: dict[str, Any] = {}
        for name in lists:
            try:
                found[name] = super().read_response(disable_decoding=True)
            except ResponseError as exc:
                found[name] = exc
        return found

    def _send(self, sent: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._pending.append(sent)
        self.gate_checked = sent  # _checked passed it through the same gate: once is enough
        super().send_command(*sent, **kwargs)  # type: ignore[no-untyped-call]

    def pack_commands(self, commands: Any) -> Any:
        # Pipelines and MULTI/EXEC send their commands packed together, bypassing send_command.
        if self._in_handshake:
            return super().pack_commands(commands)  # type: ignore[no-untyped-call]
        tracer = current()
        commands = [self._checked(tracer, tuple(c)) for c in commands]
        tracer.settle()
        tracer.lock.acquire()
        self._expect = len(commands)
        self._raw = []
        self._pending.extend(commands)
        self.gate_checked = commands
        try:
            return super().pack_commands(commands)  # type: ignore[no-untyped-call]
        except BaseException:
            self._release()
            raise

    def _checked(self, tracer: Tracer, args: tuple[Any, ...]) -> tuple[Any, ...]:
        try:
            return tracer.prefix(args)  # through the gate (the connection does not ask again)
        except Refused as exc:
            tracer.events.send(type="refused", message=str(exc), action=tracer.line())
            raise

    # -- reading ----------------------------------------------------------------------------
    def can_read(self, *args: Any, **kwargs: Any) -> bool:
        if not self._pubsub:
            return bool(super().can_read(*args, **kwargs))
        with self._idle(current()):
            return bool(super().can_read(*args, **kwargs))

    def _idle(self, tracer: Tracer) -> AbstractContextManager[None]:
        return nullcontext() if self._pending else tracer.waiting_here()

    def _read(self, *args: Any, **kwargs: Any) -> Any:
        """Read one reply and keep it with the command it answers (a pushed message answers
        none): Redis's own error answer too, a broken connection not."""
        try:
            reply = super().read_response(*args, **kwargs)
        except Exception as exc:
            if self._pending and isinstance(exc, ResponseError):
                self._raw.append((_words(self._pending.popleft()), None, str(exc)))
            raise
        sent = self._pending.popleft() if self._pending else ()
        # A list is copied now: the program may change it before the step is sent.
        self._raw.append((_words(sent), list(reply) if type(reply) is list else reply, None))
        return reply

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if self._in_handshake:
            return super().read_response(*args, **kwargs)
        tracer = current()
        if self._expect:
            return self._read_locked(tracer, *args, **kwargs)
        blocking = self._blocking
        try:
            if self._pubsub:
                with tracer.cond:
                    tracer.listening.add(id(self))
                # Waiting for a reply (a SUBSCRIBE's confirmation) is not waiting for messages:
                # others go on only once the server has confirmed the subscription.
                with self._idle(tracer):
                    reply = self._read(*args, **kwargs)
            elif blocking is not None:
                with tracer.waiting_here():
                    reply = self._read(*args, **kwargs)
            else:
                reply = self._read(*args, **kwargs)
        finally:
            self._end_blocking()
            if blocking is not None or self._pubsub:
                with tracer.lock:
                    self._emit(tracer)
        return tracer.shorten(reply)

    def _read_locked(self, tracer: Tracer, *args: Any, **kwargs: Any) -> Any:
        tracer.catch_up()  # the last step, while this command travels (tracer.step's `later`)
        try:
            reply = self._read(*args, **kwargs)
        except ResponseError:
            if self._lists_sent:
                self._lists_read = self._read_lists()  # the connection stays in step
            self._expect -= 1
            if self._expect > 0:
                raise  # Redis's error for one command of a pipeline: the others' replies follow
            self._emit(tracer)
            self._release()
            raise
        except BaseException:
            self._emit(tracer)
            self._release()
            raise
        if self._lists_sent:
            self._lists_read = self._read_lists()
        self._expect -= 1
        if not self._expect:
            raws = self._raw
            try:
                pushed = {
                    word
                    for words, _reply, _error in raws
                    if words and _name(words) in _PUSHES
                    for word in words[1:]
                    if isinstance(word, str)
                }
                woken = tracer.wait_for_wake(pushed) if pushed else set()
                self._emit(tracer, later=True)
            finally:
                self._release()
            if woken:
                tracer.hand_over(woken)
            published = sum(
                r
                for words, r, _error in raws
                if words and type(r) is int and _name(words) == "PUBLISH"
            )
            if published:
                with tracer.cond:
                    target = tracer.delivered + published
                tracer.wait_for_delivery(target)
        return tracer.shorten(reply)

    def _emit(self, tracer: Tracer, *, later: bool = False) -> None:
        raws, self._raw = self._raw, []
        if raws:
            # A reply to a command sent earlier names the line that sent it; a pushed message
            # (no command) the line that read it.
            sent_from = self._sent_from
            senders = [sent_from.popleft() for r in raws if r[0] and sent_from] if sent_from else ()
            thread = threading.current_thread()
            if thread is threading.main_thread():
                lane, label = self._trace_client.resolve(sys._getframe(1)), "main"
            else:
                lane = label = thread_label(thread)
            commands: list[Raw] = [(lane, *r) for r in raws]
            given, self._lists_read = self._lists_read, {}
            tracer.step(
                lane,
                label,
                senders[0] if senders else program_line(tracer.script),
                commands,
                db=int(getattr(self, "db", 0) or 0),
                lists=given,
                later=later,
            )

    def _release(self) -> None:
        self._expect = 0
        with suppress(RuntimeError):
            current().lock.release()

    def _end_blocking(self) -> None:
        blocking = self._blocking
        if blocking is not None:
            self._blocking = None
            blocking.__exit__(None, None, None)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        if self._expect:
            self._release()
        if self._pubsub:
            tracer = current()
            with tracer.cond:
                tracer.listening.discard(id(self))
                tracer.cond.notify_all()
        self._pubsub = False
        self._sent_from.clear()
        self._pending.clear()
        self._in_multi = False
        self._lists_sent, self._lists_read = [], {}
        super().disconnect(*args, **kwargs)  # type: ignore[no-untyped-call]


_TRANSACTION_ENDS = frozenset({"EXEC", "DISCARD", "RESET"})


def _words(sent: tuple[Any, ...]) -> tuple[Any, ...]:
    """The words as Redis receives them (recorder._text): text, or bytes that are not UTF-8."""
    return tuple(map(_text, sent))


def _name(words: tuple[Any, ...]) -> str:
    first = words[0]
    return first.upper() if isinstance(first, str) else ""
