"""Run a lesson's scenario on a backend, one step at a time, and return frozen step records.

The engine never prints. Each step sends its command (if any) through the acting client, reads the
watched keys with an observer client that is not recorded, and copies everything into a StepRecord.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import redis

from redisqueue_tutor.backend import Backend
from redisqueue_tutor.lesson_model import Lesson, Step, fill_template
from redisqueue_tutor.records import StepRecord, Value, freeze, python_text


class LessonRun:
    """One run of one lesson. Iterate it to execute the steps lazily, in order."""

    def __init__(self, lesson: Lesson, backend: Backend) -> None:
        self.lesson = lesson
        self.backend = backend
        self._names = frozenset(lesson.key_names)
        self._clients = {
            c.name: backend.client(c.name, decode_responses=c.decode_responses)
            for c in lesson.clients
        }
        self._variables: dict[str, Any] = {name: None for name in lesson.variables}
        self._done = 0
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

    def next_step(self) -> StepRecord:
        step = self.lesson.steps[self._done]
        number = self._done + 1
        mark = self.backend.log.mark()
        output = self._execute(step)
        record = StepRecord(
            number=number,
            actor=step.actor,
            action=fill_template(step.action, self._template_values()),
            commands=self.backend.log.since(mark),
            output=output,
            state=self._observe(),
            variables=self._snapshot(),
        )
        record = _with_changes(record, self._previous)
        self._previous = record
        self._done = number
        return record

    def _execute(self, step: Step) -> str:
        values = self._template_values()
        if step.command is not None:
            words = [self._word(w, values) for w in shlex.split(step.command)]
            client = self._clients[step.actor]
            try:
                reply = client.execute_command(*words)
            except redis.ResponseError as exc:
                reply = None
                if step.output is None:
                    return f"ResponseError: {exc}"
            if step.assign:
                self._variables[step.assign] = freeze(reply)
                values = self._template_values()
        if step.output is not None:
            return fill_template(step.output, values)
        if step.assign:
            return python_text(self._variables[step.assign])
        return "None"

    def _word(self, word: str, values: dict[str, Any]) -> str:
        word = fill_template(word, values) if "{" in word else word
        return self.backend.namespace.key(word) if word in self._names else word

    def _template_values(self) -> dict[str, Any]:
        # Templates see values as the program would print them with !r: 'task1', None.
        return {k: _Shown(v) for k, v in self._variables.items()}

    def _observe(self) -> tuple[tuple[str, Value], ...]:
        observer = self.backend.observer
        state = []
        for key in self.lesson.state:
            state.append((key.key, observe_key(observer, self.backend.namespace.key(key.key))))
        return tuple(state)

    def _snapshot(self) -> tuple[tuple[str, Value], ...]:
        return tuple((name, self._variables[name]) for name in self.lesson.variables)


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
    return f"<{kind}>"


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


def _with_changes(record: StepRecord, previous: StepRecord) -> StepRecord:
    changed = {f"state:{k}" for k, v in record.state if previous.state_map.get(k) != v}
    changed |= {f"var:{k}" for k, v in record.variables if previous.variable_map.get(k) != v}
    return replace(record, changed=frozenset(changed))


def run_lesson(lesson: Lesson, backend: Backend) -> tuple[StepRecord, list[StepRecord]]:
    """Run every step; returns the start snapshot and the step records."""
    run = LessonRun(lesson, backend)
    return run.start, list(run)
