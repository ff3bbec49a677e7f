"""Run a lesson's scenario on a backend, one step at a time, and return frozen step records.

The engine never prints. Each step sends its command (if any) through the acting client, reads the
watched keys with an observer client that is not recorded, and copies everything into a StepRecord.
"""

from __future__ import annotations

import fnmatch
import shlex
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

import redis

from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.lessons.model import Client, Lesson, Step, fill_template
from redisqueue_tutor.run.backend import Backend, blocking_seconds
from redisqueue_tutor.run.recorder import send_unrecorded
from redisqueue_tutor.run.records import (
    CommandRecord,
    ListValue,
    StepRecord,
    Value,
    freeze,
    python_text,
)

DELIVERY_TIMEOUT = 5.0  # seconds to wait for a published message to reach its listeners
SUBSCRIBE = frozenset({"SUBSCRIBE", "PSUBSCRIBE"})
UNSUBSCRIBE = frozenset({"UNSUBSCRIBE", "PUNSUBSCRIBE"})


class EngineError(Exception):
    """The scenario could not go on (a message that never arrived, a listener that hung)."""


class StepRefused(Exception):
    """The run's gate refused a step's command as it was about to be sent (templates filled)."""


class LessonRun:
    """One run of one lesson. Iterate it to execute the steps lazily, in order.

    Close it (or use it as a context manager) to stop the listener threads it started.
    """

    def __init__(self, lesson: Lesson, backend: Backend) -> None:
        self.lesson = lesson
        self.backend = backend
        self._names = frozenset(lesson.key_names)
        self._clients = {
            c.name: backend.client(c.name, decode_responses=c.decode_responses)
            for c in lesson.clients
        }
        self._variables: dict[str, Any] = {name: None for name in lesson.variables}
        for client in lesson.clients:
            if client.collect:
                self._variables[client.collect] = ListValue()  # the program's `received = []`
        self._lock = threading.Lock()
        self._listeners: dict[str, Listener] = {}
        self._background: dict[str, Background] = {}
        self._held: dict[str, list[CommandRecord]] = {}
        self._joined: list[str] = []
        self._seen = backend.log.mark()
        self._done = 0
        self._outside = 0  # receivers of this step's PUBLISH outside the run
        self._arrived = threading.Condition()
        self.start = StepRecord(
            number=0,
            actor="",
            action="Start",
            commands=(),
            output="",
            state=self._observe(),
            variables=self._snapshot(),
        )
        self._previous = self.start

    def __iter__(self) -> Iterator[StepRecord]:
        while self._done < len(self.lesson.steps):
            yield self.next_step()

    @property
    def finished(self) -> bool:
        return self._done >= len(self.lesson.steps)

    def __enter__(self) -> LessonRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop and join every listener and background thread; safe to call twice."""
        for listener in self._listeners.values():
            listener.stop()
        self._listeners.clear()
        for background in self._background.values():
            background.abandon()
        self._background.clear()

    def next_step(self) -> StepRecord:
        step = self.lesson.steps[self._done]
        number = self._done + 1
        heard = {name: len(lst.printed) for name, lst in self._listeners.items()}
        self._outside = 0
        try:
            output = self._execute(step)
        except Refused as exc:
            raise StepRefused(f"step {number} ({step.action}): {exc}") from None
        printed = [
            line
            for name, listener in self._listeners.items()
            for line in listener.printed[heard.get(name, 0) :]
        ]
        if printed:
            output = "\n".join(([] if output == "None" else [output]) + printed)
        record = StepRecord(
            number=number,
            actor=step.actor,
            action=fill_template(step.action, self._template_values()),
            commands=self._in_causal_order(self._commands_of_step(), step.actor),
            output=output,
            state=self._observe(),
            variables=self._snapshot(),
            crashed=(step.actor,) if step.crash else (),
            outside=self._outside,
        )
        record = _with_changes(record, self._previous)
        self._previous = record
        self._done = number
        return record

    def _commands_of_step(self) -> tuple[CommandRecord, ...]:
        """What was sent and answered since the last step, with blocked commands held back.

        A blocked command's answer may arrive between two steps (a BRPOP timing out while the
        learner reads); it is shown in the step that joins its client, whatever the timing.
        """
        new = self.backend.log.since(self._seen)
        self._seen += len(new)
        shown: list[CommandRecord] = []
        for command in new:
            if command.client in self._background:
                self._held.setdefault(command.client, []).append(command)
            else:
                shown.append(command)
        for actor in self._joined:
            shown.extend(self._held.pop(actor, []))
        self._joined.clear()
        for actor, background in self._background.items():
            if background.fresh:
                background.fresh = False
                shown.append(
                    CommandRecord(
                        actor,
                        tuple(self.backend.namespace.short(w) for w in background.words),
                        sent=tuple(background.words),
                        waiting=True,
                    )
                )
        return tuple(shown)

    def _execute(self, step: Step) -> str:
        values = self._template_values()
        if step.crash:
            self._crash(step.actor)
            return fill_template(step.output, values) if step.output else "(crashed)"
        if step.command is not None:
            words = [self._word(w, values) for w in shlex.split(step.command)]
            name = words[0].upper()
            client = self.lesson.client(step.actor)
            if step.background:
                self._background[step.actor] = Background(
                    self._clients[step.actor], words, step.assign, self.backend.observer
                )
                return fill_template(step.output, values) if step.output else "(waiting)"
            if client.listens and name in SUBSCRIBE | UNSUBSCRIBE:
                reply = self._pubsub(client, name, words[1:])
            else:
                delivered = self._delivered()
                try:
                    for _ in range(step.repeat):
                        reply = self._clients[step.actor].execute_command(*words)
                except redis.ResponseError as exc:
                    reply = None
                    if step.output is None:
                        return f"ResponseError: {exc}"
                if name == "PUBLISH" and isinstance(reply, int):
                    # Redis counts every receiver on the server; the run waits for its own. A
                    # client outside the lesson (RedisInsight's PSUBSCRIBE *, say) is named.
                    own = self._receivers(self.backend.namespace.short(words[1]))
                    self._wait_for_delivery(delivered + min(own, reply))
                    if reply > own:
                        self._outside = reply - own
            if step.assign:
                with self._lock:
                    self._variables[step.assign] = self._program_value(reply)
                values = self._template_values()
        joined = [self._join(actor) for actor in step.join]
        if joined:
            values = self._template_values()
        if step.output is not None:
            return fill_template(step.output, values)
        if step.assign:
            return python_text(self._variables[step.assign])
        if joined:
            return "\n".join(
                python_text(value) if actor == step.actor else f"{actor} got {python_text(value)}"
                for actor, value in joined
            )
        return "None"

    def _join(self, actor: str) -> tuple[str, Value]:
        """Wait for the actor's background command to be answered; store its reply."""
        background = self._background[actor]
        reply = background.wait()
        del self._background[actor]
        self._joined.append(actor)
        reply = self._program_value(reply)
        if background.assign:
            with self._lock:
                self._variables[background.assign] = reply
        return actor, reply

    def _program_value(self, reply: Any) -> Value:
        # What the program holds, with key names shown short ('queue', not 'tutor:{...}:queue').
        return self.backend.log.shorten_value(freeze(reply))

    def _crash(self, actor: str) -> None:
        """The actor's process dies: its listener stops hearing and its connections close."""
        listener = self._listeners.pop(actor, None)
        if listener is not None:
            listener.kill()
        self._clients[actor].connection_pool.disconnect()

    def _in_causal_order(
        self, commands: tuple[CommandRecord, ...], actor: str
    ) -> tuple[CommandRecord, ...]:
        # Listener threads read their messages concurrently with the publisher reading PUBLISH's
        # reply, so the log's order is a race. Show the acting client's commands first, then what
        # each other client received, in the lesson's order of clients: the same on every run.
        rank = {c.name: i for i, c in enumerate(self.lesson.clients)}
        return tuple(sorted(commands, key=lambda c: (c.client != actor, rank.get(c.client, 99))))

    def _pubsub(self, client: Client, command: str, names: list[str]) -> Any:
        if command in SUBSCRIBE:
            if client.name in self._listeners:
                raise EngineError(f"{client.name} already listens; one subscription step each")
            listener = Listener(self, client, command, names)
            self._listeners[client.name] = listener
            return listener.start()
        if client.name not in self._listeners:
            raise EngineError(f"{client.name} is not subscribed")
        listener = self._listeners.pop(client.name)
        return listener.stop()

    def _receivers(self, channel: str) -> int:
        """How many of the run's own subscriptions receive a message on `channel` (short name):
        a channel subscription for its name, a pattern for each matching pattern."""
        short = self.backend.namespace.short
        count = 0
        for listener in self._listeners.values():
            if not listener.confirmed:
                continue
            for name in listener.names:
                if listener.command == "PSUBSCRIBE":
                    count += fnmatch.fnmatchcase(channel, short(name))
                else:
                    count += short(name) == channel
        return count

    def _delivered(self) -> int:
        return sum(len(listener.received) for listener in self._listeners.values())

    def _wait_for_delivery(self, total: int) -> None:
        # PUBLISH answers how many subscribers got the message: wait for exactly those, no sleeping.
        with self._arrived:
            if not self._arrived.wait_for(lambda: self._delivered() >= total, DELIVERY_TIMEOUT):
                raise EngineError(
                    f"a published message did not reach its listeners within {DELIVERY_TIMEOUT} s"
                )

    def _heard(self, client: Client, message: dict[str, Any], listener: Listener) -> None:
        """Called on a listener thread for every message it receives."""
        data = message["data"]
        fields = {
            "data": _Shown(data),
            "channel": _Shown(self._short(message.get("channel"))),
            "pattern": _Shown(self._short(message.get("pattern"))),
        }
        with self._lock:
            if client.collect:
                self._variables[client.collect] = ListValue(
                    (*self._variables[client.collect], freeze(data))
                )
        line = fill_template(client.on_message, fields) if client.on_message else ""
        with self._arrived:
            listener.received.append(freeze(data))
            if line:
                listener.printed.append(line)
            self._arrived.notify_all()

    def _short(self, name: Any) -> Any:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "backslashreplace")
        return self.backend.namespace.short(name) if isinstance(name, str) else name

    def _word(self, word: str, values: dict[str, Any]) -> str:
        word = fill_template(word, values) if "{" in word else word
        return self.backend.namespace.key(word) if word in self._names else word

    def _template_values(self) -> dict[str, Any]:
        # Templates see values as the program would print them with !r: 'task1', None.
        with self._lock:
            return {k: _Shown(v) for k, v in self._variables.items()}

    def _observe(self) -> tuple[tuple[str, Value], ...]:
        observer = self.backend.observer
        # The run's keys expire unless the run lives (backend.KEY_TTL): renew them, as a step may
        # have created one or cleared its expiry.
        self.backend.keep_alive(self.backend.namespace.key(name) for name in self._names)
        state: list[tuple[str, Value]] = []
        for key in self.lesson.state:
            name = self.backend.namespace.key(key.key)
            if key.type == "channel":
                count = observer.pubsub_numsub(name)[0][1]
                state.append((key.key, Subscribers(count, self._patterns_matching(key.key))))
            elif key.type == "stream":
                entries = observer.xrange(name) if observer.exists(name) else []
                state.append((key.key, StreamEntries(freeze(entries))))
            else:
                state.append((key.key, observe_key(observer, name)))
        return tuple(state)

    def _patterns_matching(self, channel: str) -> tuple[str, ...]:
        """The patterns this run's listeners hold (confirmed by Redis) that match the channel.

        Redis matches PSUBSCRIBE patterns with glob rules (*, ?, [...]), as fnmatchcase does.
        """
        short = self.backend.namespace.short
        return tuple(
            short(pattern)
            for listener in self._listeners.values()
            if listener.command == "PSUBSCRIBE" and listener.confirmed
            for pattern in listener.names
            if fnmatch.fnmatchcase(channel, short(pattern))
        )

    def _snapshot(self) -> tuple[tuple[str, Value], ...]:
        with self._lock:
            return tuple((name, self._variables[name]) for name in self.lesson.variables)


class Background:
    """A command running on its client's own thread, as a worker blocked in BRPOP would be.

    Lessons give a background command no timeout (BRPOP queue 0, see lesson_model): it ends when
    a later step wakes it, however long the learner reads the screen in between. It runs on one
    connection held for it, so that closing the run can wake it (CLIENT UNBLOCK) instead of
    leaving a thread blocked for ever.
    """

    GRACE = 5.0  # seconds to wait beyond the command's own timeout
    FOREVER = 30.0  # how long a join waits for a command without a timeout before giving up

    def __init__(
        self, client: redis.Redis, words: list[str], assign: str | None, observer: redis.Redis
    ) -> None:
        self.client = client
        self.words = words
        self.assign = assign
        self.observer = observer
        self.fresh = True  # not shown in a step yet
        self._reply: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        pool = client.connection_pool
        self._connection = pool.get_connection()
        try:
            self._connection_id = send_unrecorded(self._connection, "CLIENT", "ID")
        except BaseException:
            pool.release(self._connection)
            raise
        self.thread = threading.Thread(target=self._run, name="tutor-background", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        connection = self._connection
        try:
            connection.send_command(*self.words)
            self._reply = self.client.parse_response(connection, self.words[0])
        except BaseException as exc:  # handed to the main thread by wait()
            self._error = exc
        finally:
            self.client.connection_pool.release(connection)
            self._done.set()

    def _limit(self) -> float:
        # The command's own timeout (BRPOP's last word, XREADGROUP's BLOCK); 0 means forever.
        own = blocking_seconds(tuple(self.words)) or 0.0
        return (own if own > 0 else self.FOREVER) + self.GRACE

    def wait(self) -> Value:
        if not self._done.wait(self._limit()):
            self.abandon()
            raise EngineError(f"{' '.join(self.words[:2])} was never answered")
        if self._error is not None:
            raise self._error
        return freeze(self._reply)

    def abandon(self) -> None:
        """Stop waiting: wake the blocked command (CLIENT UNBLOCK, its own connection only) and
        join the thread. Where the server refuses CLIENT UNBLOCK (an ACL without @admin), closing
        the connection ends the command on a real server all the same."""
        if not self._done.is_set():
            with suppress(redis.RedisError):
                self.observer.execute_command("CLIENT", "UNBLOCK", self._connection_id)
            if not self._done.wait(1.0):
                with suppress(Exception):
                    self._connection.disconnect()
        self.thread.join(1.0)


@dataclass(frozen=True)
class Subscribers:
    """A channel's state: how many clients are subscribed to it (PUBSUB NUMSUB), and the run's
    pattern subscriptions that match it, which PUBLISH counts too but NUMSUB does not."""

    count: int
    patterns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        text = f"{self.count} subscriber" + ("" if self.count == 1 else "s")
        if self.patterns:
            several = len(self.patterns) > 1
            text += f" + {len(self.patterns)} pattern{'s' if several else ''} ({', '.join(self.patterns)})"
        return text


class Listener:
    """A subscriber's background thread, as in a Django app: subscribe, then handle messages.

    It polls `get_message(timeout=...)` in a loop, the way redis-py's own `run_in_thread` does, so
    that it can be stopped and joined: a bare `listen()` loop blocks until a message comes.
    """

    POLL = 0.05

    def __init__(self, run: LessonRun, client: Client, command: str, names: list[str]) -> None:
        self.run = run
        self.client = client
        self.command = command
        self.names = names
        self.received: list[Value] = []
        self.printed: list[str] = []
        self.pubsub = run._clients[client.name].pubsub()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._confirmation: Any = None
        self._error: BaseException | None = None
        self._killed = False
        self.confirmed = False  # Redis confirmed the subscription
        self.thread = threading.Thread(
            target=self._run, name=f"tutor-listener-{client.name}", daemon=True
        )

    def start(self) -> Any:
        """Start the thread; return the subscription's confirmation once it has arrived."""
        self.thread.start()
        if not self._ready.wait(DELIVERY_TIMEOUT):
            self.stop()
            raise EngineError(f"{self.client.name} did not confirm its subscription")
        if self._error is not None:
            raise self._error
        return self._confirmation

    def stop(self) -> Any:
        """Unsubscribe, stop and join the thread; returns the unsubscribe confirmation."""
        self._stop.set()
        self.thread.join(DELIVERY_TIMEOUT)
        if self.thread.is_alive():
            raise EngineError(f"the listener thread of {self.client.name} did not stop")
        return self._confirmation

    def kill(self) -> None:
        """The process dies: no UNSUBSCRIBE, its connection just closes (Redis drops the
        subscription with it)."""
        self._killed = True
        self.stop()

    def _run(self) -> None:
        pubsub = self.pubsub
        try:
            subscribe = pubsub.psubscribe if self.command == "PSUBSCRIBE" else pubsub.subscribe
            subscribe(*self.names)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=self.POLL)
                if message is None:
                    continue
                if message["type"] in ("message", "pmessage"):
                    self.run._heard(self.client, message, self)
                elif message["type"] in ("subscribe", "psubscribe"):
                    self._confirmation = freeze(message["data"])
                    self.confirmed = True
                    self._ready.set()
            if self._killed:
                return  # the finally below closes the connection, as a dying process would
            if self.command == "PSUBSCRIBE":
                pubsub.punsubscribe()
            else:
                pubsub.unsubscribe()
            # Read the confirmation so the recorder logs it with the UNSUBSCRIBE.
            deadline = 20
            while deadline and pubsub.subscribed:
                message = pubsub.get_message(timeout=self.POLL)
                if message and message["type"] in ("unsubscribe", "punsubscribe"):
                    self._confirmation = freeze(message["data"])
                deadline -= 1
        except BaseException as exc:  # reported to the main thread by start()
            self._error = exc
            self._ready.set()
        finally:
            pubsub.close()


@dataclass(frozen=True)
class StreamEntries:
    """A stream's state: its entries in order, each an id and its fields (XRANGE - +)."""

    entries: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    def __repr__(self) -> str:
        shown = (
            entry_id + " " + " ".join(f"{field}={value}" for field, value in fields)
            for entry_id, fields in self.entries
        )
        return "[" + ", ".join(shown) + "]"


def observe_key(observer: redis.Redis, name: str) -> Value:
    """What a key holds, read without changing it. A missing key reads as an empty list."""
    kind = observer.type(name)
    if kind in ("list", "none"):
        return freeze(observer.lrange(name, 0, -1))
    if kind == "string":
        return observer.get(name)
    if kind == "hash":
        return freeze(observer.hgetall(name))
    if kind == "set":
        return freeze(observer.smembers(name))
    if kind == "zset":
        return freeze(observer.zrange(name, 0, -1, withscores=True))
    if kind == "stream":
        return freeze(observer.xrange(name))
    return "<" + (kind.decode() if isinstance(kind, bytes) else str(kind)) + ">"


class _Shown:
    """A variable inside a template: str() gives the bare text, repr() the Python form."""

    def __init__(self, value: Value) -> None:
        self.value = value

    def __str__(self) -> str:
        if isinstance(self.value, bytes):
            return self.value.decode("utf-8", "backslashreplace")
        return str(self.value)

    def __repr__(self) -> str:
        return python_text(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __getitem__(self, index: int) -> _Shown:
        # {task[1]}: an item of a reply such as BRPOP's [key, value]; None has no items.
        if isinstance(self.value, tuple) and -len(self.value) <= index < len(self.value):
            return _Shown(self.value[index])
        return _Shown(None)


def _with_changes(record: StepRecord, previous: StepRecord) -> StepRecord:
    changed = {f"state:{k}" for k, v in record.state if previous.state_map.get(k) != v}
    changed |= {f"var:{k}" for k, v in record.variables if previous.variable_map.get(k) != v}
    return replace(record, changed=frozenset(changed))


def run_lesson(lesson: Lesson, backend: Backend) -> tuple[StepRecord, list[StepRecord]]:
    """Run every step; returns the start snapshot and the step records."""
    with LessonRun(lesson, backend) as run:
        return run.start, list(run)
