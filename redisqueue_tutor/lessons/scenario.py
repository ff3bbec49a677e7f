"""Run a scenario lesson: its program under `tutor trace`, the run cut into the lesson's steps.

The program (a Django project's view, the Celery worker it starts) runs once, whole, before the
first step is shown: a step's outcome never depends on how long a learner reads the screen. Each
lane's commands are cut where its steps' `until` globs match, in that lane's own order, so that
a worker's commands land in the same step on every run however they interleave with the web
process's. What the lesson calls quiet (idle polls, housekeeping) is left out of the table and
counted; `x` shows it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from redisqueue_tutor.lessons.clients import EngineError
from redisqueue_tutor.lessons.model import Lesson, Step
from redisqueue_tutor.lessons.payloads import summarised
from redisqueue_tutor.run.records import (
    CommandRecord,
    DictValue,
    ListValue,
    SetValue,
    StepRecord,
    Value,
    command_text,
    reply_text,
)
from redisqueue_tutor.run.runfile import Run

LIBRARY = "(inside a library)"
_EMPTY: dict[str, Value] = {
    "list": ListValue(),
    "zset": ListValue(),
    "hash": DictValue(),
    "set": SetValue(),
}


class ScenarioError(EngineError):
    """The scenario's program did not run as its lesson says, in one line."""


@dataclass(frozen=True)
class Sent:
    """One command of the run as the lesson sees it."""

    index: int  # its place in the run, from 0
    traced: int  # the traced step it came in (its state is read after it)
    lane: str  # the lesson's client, or "" for a client no lane matches
    record: CommandRecord
    text: str  # the command as shown, what `until` and phrases match
    line: str  # the program line the trace names for it ("views.py:15: ..."), or ""

    @property
    def shown_with_reply(self) -> str:
        return f"{self.text} -> {reply_text(self.record.reply, self.record.error)}"


def commands_of(run: Run, lesson: Lesson) -> list[Sent]:
    """Every command of the run, in order, a transaction's each with its own reply (EXEC's)."""
    sent: list[Sent] = []
    for traced_index, traced in enumerate(run.traced):
        lane = lane_of(lesson, traced.thread)
        line = _program_line(traced.record.action)
        for each in _unwrapped(traced.record.commands):
            record = replace(
                each,
                client=lane or traced.thread,
                args=tuple(summarised(a) for a in each.args),
                reply=summarised(each.reply),
            )
            text = command_text(record.args) if record.args else f"{record.client} receives"
            sent.append(Sent(len(sent), traced_index, lane, record, text, line))
    return sent


def lane_of(lesson: Lesson, thread: str) -> str:
    for client in lesson.clients:
        if any(fnmatch.fnmatchcase(thread, pattern) for pattern in client.match):
            return client.name
    return ""


def _program_line(action: str) -> str:
    """The project's line a traced step names, without the process's label; "" for a library's."""
    if LIBRARY in action or "another process of the program" in action:
        return ""
    head, colon, rest = action.partition(": ")
    # "celery-4242: tasks.py:17: ...": the process's label, then its line.
    if colon and not head.startswith("line ") and " " not in head and "." not in head:
        return rest
    return action


def _unwrapped(commands: Sequence[CommandRecord]) -> list[CommandRecord]:
    """A MULTI ... EXEC as the commands it ran, each with its reply from EXEC's."""
    if (
        len(commands) >= 2
        and commands[0].name == "MULTI"
        and commands[-1].name == "EXEC"
        and isinstance(commands[-1].reply, tuple)
        and len(commands[-1].reply) == len(commands) - 2
    ):
        replies = commands[-1].reply
        return [
            replace(c, reply=r, error=str(r) if isinstance(r, Exception) else None)
            for c, r in zip(commands[1:-1], replies, strict=True)
        ]
    return list(commands)


def is_quiet(lesson: Lesson, command: Sent) -> bool:
    assert lesson.scenario is not None
    if not command.lane:
        return True
    # A pattern may name its lane: "worker: SADD _kombu.binding*".
    said = (command.text, command.shown_with_reply, f"{command.lane}: {command.text}")
    return any(
        fnmatch.fnmatchcase(text, pattern) for text in said for pattern in lesson.scenario.quiet
    )


def phrase_for(lesson: Lesson, command: Sent, step: int) -> str:
    """What the lesson says the framework does with this command, at step `step`."""
    assert lesson.scenario is not None
    phrases = lesson.scenario.phrases
    # A phrase for this step (a restore's HDEL is no ack) before one for any step.
    for phrase in [p for p in phrases if p.steps] + [p for p in phrases if not p.steps]:
        if phrase.client not in (None, command.lane) or (phrase.steps and step not in phrase.steps):
            continue
        if fnmatch.fnmatchcase(command.text, phrase.match):
            return phrase.says
    return ""


@dataclass(frozen=True)
class Cut:
    """The run's commands of one step: shown (in the table) and hidden (quiet, x shows them)."""

    shown: tuple[Sent, ...]
    hidden: tuple[Sent, ...]
    end: int  # the index of its last command in the run


def cut(lesson: Lesson, sent: Sequence[Sent]) -> list[Cut]:
    """Each step's commands: its lane's, after those of the lane's earlier steps, up to the
    first that matches its `until`. ScenarioError when one never comes."""
    loud = [c for c in sent if not is_quiet(lesson, c)]
    by_lane: dict[str, list[Sent]] = {}
    for command in loud:
        by_lane.setdefault(command.lane, []).append(command)
    taken: dict[str, int] = {}
    shown: list[list[Sent]] = []
    for number, step in enumerate(lesson.steps, start=1):
        commands = by_lane.get(step.actor, [])
        start = taken.get(step.actor, 0)
        end = _until(step, commands, start)
        if end is None:
            after = f" after {start} of its commands" if start else ""
            raise ScenarioError(
                f"step {number} ({step.action}): {step.actor} sent no command matching"
                f" {step.until!r}{after}; the framework may have changed what it sends"
            )
        shown.append(commands[start : end + 1])
        taken[step.actor] = end + 1
    ends = [max((c.index for c in s), default=-1) for s in shown]
    hidden: list[list[Sent]] = [[] for _ in shown]
    placed = {c.index for s in shown for c in s}
    lanes = {step.actor for step in lesson.steps}
    for command in sent:
        if command.index in placed:
            continue
        # A lane's own step that holds its place in the run; another lane's client's, the step
        # of any lane that does.
        steps = [
            i
            for i, step in enumerate(lesson.steps)
            if command.lane not in lanes or step.actor == command.lane
        ]
        later = [i for i in steps if ends[i] >= command.index]
        target = min(later, key=lambda i: ends[i]) if later else steps[-1]
        hidden[target].append(command)
    return [
        Cut(tuple(s), tuple(h), max(end, max((c.index for c in h), default=-1)))
        for s, h, end in zip(shown, hidden, ends, strict=True)
    ]


def _until(step: Step, commands: Sequence[Sent], start: int) -> int | None:
    assert step.until is not None
    for index in range(start, len(commands)):
        if fnmatch.fnmatchcase(commands[index].text, step.until):
            return index
    return None


class ScenarioRun:
    """A scenario lesson run: the same face as engine.LessonRun (start, next_step, iteration),
    its records cut from one trace of the lesson's program."""

    def __init__(self, lesson: Lesson, run: Run) -> None:
        assert lesson.scenario is not None
        self.lesson = lesson
        self.run = run
        self.sent = commands_of(self.run, lesson)
        self.cuts = cut(lesson, self.sent)
        self.start = StepRecord(0, "", "Start", (), "", _state(lesson, None), ())
        self._records = self._build()
        self._done = 0

    def _build(self) -> list[StepRecord]:
        records: list[StepRecord] = []
        previous = self.start
        traced = self.run.traced
        last = -1
        for number, (step, part) in enumerate(zip(self.lesson.steps, self.cuts, strict=True), 1):
            # The keys as they were after this step's commands and every earlier step's: the
            # state never goes back in time, whichever lane ran first (a worker's ack and the
            # view's GET race; the step after both shows the ack's effect either way).
            last = max(last, max((c.traced for c in part.shown), default=-1))
            watched = traced[last].watched if last >= 0 else None
            outputs = dict.fromkeys(
                traced[c.traced].record.output for c in part.shown if traced[c.traced].record.output
            )
            record = StepRecord(
                number=number,
                actor=step.actor,
                action=step.action,
                commands=tuple(c.record for c in part.shown),
                output="\n".join(outputs),
                state=_state(self.lesson, watched),
                variables=(),
                notes=tuple(phrase_for(self.lesson, c, number) for c in part.shown),
                hidden=tuple(f"{c.record.client}: {c.shown_with_reply}" for c in part.hidden),
                code=tuple(dict.fromkeys(c.line for c in part.shown if c.line)),
            )
            changed = {f"state:{k}" for k, v in record.state if previous.state_map.get(k) != v}
            record = replace(record, changed=frozenset(changed))
            records.append(record)
            previous = record
        return records

    # -- LessonRun's face ------------------------------------------------------------------------
    def __iter__(self) -> Iterator[StepRecord]:
        while self._done < len(self._records):
            yield self.next_step()

    @property
    def finished(self) -> bool:
        return self._done >= len(self._records)

    def next_step(self) -> StepRecord:
        record = self._records[self._done]
        self._done += 1
        return record

    def __enter__(self) -> ScenarioRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing runs after the trace: its processes ended with it."""


def watched_keys(lesson: Lesson) -> tuple[str, ...]:
    """The keys a scenario's trace reads after every step that writes them."""
    return tuple(k.key for k in lesson.state if k.type != "channel")


def check_outcome(run: Run, program: str) -> None:
    if run.outcome.status != "finished":
        lines = run.stderr.strip().splitlines()
        detail = run.outcome.message or (lines[-1] if lines else "")
        raise ScenarioError(
            f"the lesson's program {program} did not finish ({run.outcome.status}): {detail}"
        )


def _state(
    lesson: Lesson, watched: tuple[tuple[str, str, Value], ...] | None
) -> tuple[tuple[str, Value], ...]:
    found = {name: (kind, value) for name, kind, value in watched or ()}
    state = []
    for key in lesson.state:
        kind, value = found.get(key.key, ("none", None))
        if kind == "none":
            value = _EMPTY.get(key.type)
        state.append((key.key, summarised(value)))
    return tuple(state)
