"""The connection every redis-py client of a traced program is built on: namespacing (keys and
channels under the run's namespace, by Redis's own key specifications), one lock per command so
records never mix, and one event per command, pipeline or received message."""

from __future__ import annotations

import sys
import threading
from collections import deque
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any

from redisqueue_tutor.keyspace.blocking import BLOCKS_ON, SUBSCRIBING
from redisqueue_tutor.keyspace.gate import Refused
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
from redisqueue_tutor.run.recorder import CommandLog, ConnectionMixin


class TraceMixin(ConnectionMixin):
    """On top of the recorder's connection: namespacing, one lock per command, one event per step.

    Each connection records into a log of its own, so the records of one step never mix with
    another thread's.
    """

    _in_handshake: bool

    def __init__(
        self, *args: Any, command_log: CommandLog | None = None, lane: str = "", **kwargs: Any
    ) -> None:
        tracer = current()
        self._trace_client: ClientName = kwargs.pop("trace_client")
        self._own_log = CommandLog(shorten=tracer.backend.namespace.short)
        self._expect = 0  # replies still to read under the lock
        self._mark = 0
        self._pubsub = False
        self._blocking: Any = None
        # A subscribed connection's replies are read later, by a different line (listen()): the
        # line that sent each command, kept until its reply is recorded.
        self._sent_from: deque[str] = deque()
        # Next in the MRO is the recorder's mixin, which takes these; mypy sees redis-py's class.
        lane = lane or str(kwargs.get("client_name") or "")
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
            super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        tracer = current()
        name = _word(args[0]).upper()
        sent = self._checked(tracer, args)
        if name in SUBSCRIBING:
            self._pubsub = True
        if self._pubsub:  # the reply is read later, by whoever listens
            self._sent_from.append(program_line(tracer.script))
            super().send_command(*sent, **kwargs)  # type: ignore[no-untyped-call]
            return
        tracer.settle()
        if name in BLOCKS_ON:
            # Waiting for data is not a step yet: no lock; the reply is recorded when it comes.
            # fakeredis blocks inside send (its Condition.wait marks the thread as waiting); a
            # real server blocks once the command has arrived, shortly after it is sent.
            self._blocking = tracer.blocked_here(frozenset(_word(a) for a in sent[1:]))
            self._blocking.__enter__()
            try:
                super().send_command(*sent, **kwargs)  # type: ignore[no-untyped-call]
            except BaseException:
                self._end_blocking()
                raise
            if tracer.strict:
                _real_sleep(ARRIVAL_GRACE)
            return
        tracer.lock.acquire()
        self._expect, self._mark = 1, self._own_log.mark()
        self.gate_checked = sent  # _checked passed it through the same gate: once is enough
        try:
            super().send_command(*sent, **kwargs)  # type: ignore[no-untyped-call]
        except BaseException:
            self._release()
            raise

    def pack_commands(self, commands: Any) -> Any:
        if self._in_handshake:
            return super().pack_commands(commands)  # type: ignore[no-untyped-call]
        tracer = current()
        commands = [self._checked(tracer, tuple(c)) for c in commands]
        tracer.settle()
        tracer.lock.acquire()
        self._expect, self._mark = len(commands), self._own_log.mark()
        self.gate_checked = commands
        try:
            return super().pack_commands(commands)  # type: ignore[no-untyped-call]
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
            return bool(super().can_read(*args, **kwargs))
        with self._idle(current()):
            return bool(super().can_read(*args, **kwargs))

    def _idle(self, tracer: Tracer) -> AbstractContextManager[None]:
        pending = getattr(self, "_pending", ())
        return nullcontext() if pending else tracer.waiting_here()

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if self._in_handshake:
            return super().read_response(*args, **kwargs)
        tracer = current()
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
                    reply = super().read_response(*args, **kwargs)
            elif blocking is not None:
                with tracer.waiting_here():
                    reply = super().read_response(*args, **kwargs)
            else:
                reply = super().read_response(*args, **kwargs)
        finally:
            self._end_blocking()
            if blocking is not None or self._pubsub:
                with tracer.lock:
                    self._emit(tracer, mark)
        return tracer.shorten(reply)

    def _read_locked(self, tracer: Tracer, *args: Any, **kwargs: Any) -> Any:
        try:
            reply = super().read_response(*args, **kwargs)
        except BaseException:
            self._emit(tracer, self._mark)
            self._release()
            raise
        self._expect -= 1
        if not self._expect:
            records = self._own_log.since(self._mark)
            try:
                pushed = {
                    word
                    for r in records
                    if r.name in _PUSHES
                    for word in r.sent[1:]
                    if isinstance(word, str)
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
                db=int(getattr(self, "db", 0) or 0),
            )

    def _release(self) -> None:
        self._expect = 0
        with suppress(RuntimeError):
            current().lock.release()

    def _end_blocking(self) -> None:
        blocking = getattr(self, "_blocking", None)
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
        super().disconnect(*args, **kwargs)  # type: ignore[no-untyped-call]


def _lane_now(client: ClientName) -> str:
    thread = threading.current_thread()
    if thread is threading.main_thread():
        return client.resolve(sys._getframe(1))
    return thread_label(thread)
