"""Run a lesson's scenario on a backend, one step at a time, and return frozen step records.

The engine never prints. Each step sends its command (if any) through the acting client, reads the
watched keys with an observer client that is not recorded, and copies everything into a StepRecord.
"""

from __future__ import annotations

import fnmatch
import shlex
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import redis

from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.lessons.clients import (
    DELIVERY_TIMEOUT,
    Background,
    EngineError,
    Listener,
    StreamEntries,
    Subscribers,
    observe_key,
)
from redisqueue_tutor.lessons.model import Client, Lesson, Step, fill_template
from redisqueue_tutor.run.backend import Backend
from redisqueue_tutor.run.records import (
    CommandRecord,
    ListValue,
    StepRecord,
    Value,
    freeze,
    python_text,
)

SUBSCRIBE = frozenset({"SUBSCRIBE", "PSUBSCRIBE"})
UNSUBSCRIBE = frozenset({"UNSUBSCRIBE", "PUNSUBSCRIBE"})


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
                    self._published(words[1], reply, delivered)
            if step.assign:
                with self._lock:
                    self._variables[step.assign] = self._program_value(reply)
                values = self._template_values()
        return self._shown(step, values)

    def _published(self, channel: str, receivers: int, delivered: int) -> None:
        """Redis counts every receiver on the server; the run waits for its own. A client outside
        the lesson (RedisInsight's PSUBSCRIBE *, say) is named."""
        own = self._receivers(self.backend.namespace.short(channel))
        self._wait_for_delivery(delivered + min(own, receivers))
        if receivers > own:
            self._outside = receivers - own

    def _shown(self, step: Step, values: dict[str, Any]) -> str:
        """What the step shows as its output, once the actors it joins are answered."""
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
            listener = Listener(self._clients[client.name], client, command, names, self._heard)
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
