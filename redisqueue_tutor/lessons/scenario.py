"""Run a scenario lesson: its program under `tutor trace`, the run cut into the lesson's steps.

The program (a Django project's view, the Celery worker it starts) runs on its own, never waiting
for the learner (modes/scenario.py), so a step's outcome never depends on how long a screen is
read; each step is cut as soon as its commands have come. Each lane's commands are cut where its
steps' `until` globs match, in that lane's own order, so that a worker's commands land in the
same step on every run however they interleave with the web process's. What the lesson calls
quiet (idle polls, housekeeping) is left out of the table and counted; `x` shows it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from redisqueue_tutor.lessons.clients import EngineError
from redisqueue_tutor.lessons.model import Lesson, Step
from redisqueue_tutor.lessons.payloads import summarised, summarised_reply
from redisqueue_tutor.run.records import (
    CommandRecord,
    DictValue,
    ListValue,
    SetValue,
    StepRecord,
    Value,
    reply_text,
    shown_text,
)
from redisqueue_tutor.run.runfile import Run, TracedStep

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
    ran: bool = True  # False: queued in a transaction that never ran (discarded, aborted)

    @cached_property
    def shown_with_reply(self) -> str:
        return f"{self.text} -> {reply_text(self.record.reply, self.record.error)}"

    def matches(self, pattern: str) -> bool:
        """Whether a lesson's glob (quiet, until, a phrase) matches this command: as shown
        ("HSET unacked *"), with its reply ("BRPOP * -> (nil)"), or with its lane ("worker: SADD *")."""
        return _matches(pattern, self.text, self.shown_with_reply, self.lane)


def _matches(pattern: str, text: str, with_reply: str, lane: str) -> bool:
    return (
        fnmatch.fnmatchcase(text, pattern)
        or fnmatch.fnmatchcase(with_reply, pattern)
        or fnmatch.fnmatchcase(f"{lane}: {text}", pattern)
    )


def shown_matches(command: CommandRecord, pattern: str) -> bool:
    """`Sent.matches` for a command a step's row shows (its client is its lane)."""
    text = shown_text(command)
    return _matches(
        pattern, text, f"{text} -> {reply_text(command.reply, command.error)}", command.client
    )


def commands_of(traced: TracedStep, lesson: Lesson, traced_index: int, first: int) -> list[Sent]:
    """The commands of one traced step, numbered from `first`; a transaction's each with its own
    reply (EXEC's)."""
    lane = lane_of(lesson, traced.thread)
    line = _program_line(traced.record.action)
    sent: list[Sent] = []
    commands, ran = _unwrapped(traced.record.commands)
    for each in commands:
        record = replace(
            each,
            client=lane or traced.thread,
            args=tuple(summarised(a) for a in each.args),
            reply=summarised_reply(summarised(each.reply)),
        )
        text = shown_text(record)
        queued = each.name not in ("MULTI", "EXEC", "DISCARD")
        sent.append(
            Sent(first + len(sent), traced_index, lane, record, text, line, ran or not queued)
        )
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


def _unwrapped(commands: Sequence[CommandRecord]) -> tuple[list[CommandRecord], bool]:
    """A MULTI ... EXEC as the commands it ran, each with its reply from EXEC's; and whether
    they ran (False for a transaction discarded, aborted by WATCH, or never sent its EXEC)."""
    if not commands or commands[0].name != "MULTI":
        return list(commands), True
    last = commands[-1]
    if (
        last.name == "EXEC"
        and isinstance(last.reply, tuple)
        and len(last.reply) == len(commands) - 2
    ):
        return [
            replace(c, reply=r, error=str(r) if isinstance(r, Exception) else None)
            for c, r in zip(commands[1:-1], last.reply, strict=True)
        ], True
    return list(commands), False


def is_quiet(lesson: Lesson, command: Sent) -> bool:
    assert lesson.scenario is not None
    if not command.ran:
        return True  # a command queued in a transaction that never ran did nothing
    return any(command.matches(pattern) for pattern in lesson.scenario.quiet)


def phrase_for(lesson: Lesson, command: Sent, step: int) -> str:
    """What the lesson says the framework does with this command, at step `step`."""
    assert lesson.scenario is not None
    phrases = lesson.scenario.phrases
    # A phrase for this step (a restore's HDEL is no ack) before one for any step.
    for phrase in [p for p in phrases if p.steps] + [p for p in phrases if not p.steps]:
        if phrase.client not in (None, command.lane) or (phrase.steps and step not in phrase.steps):
            continue
        if command.matches(phrase.match):
            return phrase.says
    return ""


def _until(step: Step, commands: Sequence[Sent], start: int) -> int | None:
    """Where the step ends in its lane's commands: its glob's first match from `start`, or the
    last of the first matches of each of its globs; None until they have all come."""
    assert step.until is not None
    ends = []
    for pattern in step.until:
        found = (i for i in range(start, len(commands)) if commands[i].matches(pattern))
        end = next(found, None)
        if end is None:
            return None
        ends.append(end)
    return max(ends)


class Source(Protocol):
    """Where a scenario's traced steps come from: its program, running (modes/scenario.py), or
    a run already whole (Whole)."""

    def steps(self, start: int, stop: int | None = None) -> Sequence[TracedStep]:
        """The traced steps from `start` (to `stop`) that have arrived."""

    def ended(self) -> Run | None:
        """The whole run, once the program has ended; None while it runs."""

    def wait(self) -> None:
        """Until more steps arrive or the program ends (a fraction of a second at most)."""

    def close(self) -> None:
        """Stop the program, and whatever it started, if it still runs."""


@dataclass
class Whole:
    """A run already whole, as a Source."""

    run: Run

    def steps(self, start: int, stop: int | None = None) -> Sequence[TracedStep]:
        return self.run.traced[start:stop]

    def ended(self) -> Run | None:
        return self.run

    def wait(self) -> None:
        return None

    def close(self) -> None:
        return None


class ScenarioRun:
    """A scenario lesson run: the same face as engine.LessonRun (start, next_step, iteration),
    its records cut from the trace of the lesson's program as it comes.

    Step k is shown as soon as its lane's `until` has arrived (and what the program printed after
    it): its commands are those of its lane after the lane's earlier steps' (each lane in its
    own order). A quiet command goes to the first step, in the lesson's order, whose last
    command came after it (its lane's steps only, unless no step has its lane); what comes after
    every step goes to the last one, which waits for the program's end. So a step, once shown,
    never changes.
    """

    def __init__(self, lesson: Lesson, source: Source | Run) -> None:
        assert lesson.scenario is not None
        self.lesson = lesson
        self.source: Source = Whole(source) if isinstance(source, Run) else source
        self.start = StepRecord(0, "", "Start", (), "", _state(lesson, None), ())
        self.traced: list[TracedStep] = []
        self.sent: list[Sent] = []
        self._loud: dict[str, list[Sent]] = {}  # each lane's commands that rows show
        self._taken: dict[str, int] = {}  # each lane's loud commands its steps have taken
        self._unplaced: list[Sent] = []  # commands no step shows, not yet placed
        # Of those, the ones the lesson does not call quiet: a lane without steps, or after its
        # lane's last step. `tutor check` fails on each (the lesson does not describe them).
        self._undescribed: set[int] = set()
        self._lanes = {step.actor for step in lesson.steps}
        self._last = -1  # the traced step the state is read after
        self._records: list[StepRecord] = []

    # -- reading the run as it comes --------------------------------------------------------------
    def _read(self) -> Run | None:
        """Take the steps that have arrived; the whole run once it has ended."""
        ended = self.source.ended()  # before the steps: then no step can come after them
        for traced in self.source.steps(len(self.traced)):
            index = len(self.traced)
            self.traced.append(traced)
            for command in commands_of(traced, self.lesson, index, len(self.sent)):
                self.sent.append(command)
                if is_quiet(self.lesson, command):
                    self._unplaced.append(command)
                elif command.lane in self._lanes:
                    self._loud.setdefault(command.lane, []).append(command)
                else:
                    self._unplaced.append(command)
                    self._undescribed.add(command.index)
        return ended

    def _decide(self, number: int) -> tuple[list[Sent], Run | None]:
        """Step `number`'s commands, once they have all come (waiting for them)."""
        step = self.lesson.steps[number - 1]
        assert step.until is not None
        while True:
            ended = self._read()
            commands = self._loud.get(step.actor, [])
            start = self._taken.get(step.actor, 0)
            end = _until(step, commands, start)
            if end is not None and (ended or self._after(commands[end])):
                self._taken[step.actor] = end + 1
                return commands[start : end + 1], ended
            if ended is not None:
                raise ScenarioError(_missing(number, step, commands[start:], start, ended))
            self.source.wait()

    def _after(self, command: Sent) -> bool:
        """Whether what the program printed after this command has come: a later step of its
        thread has (a worker's process prints outside the run: nothing to wait for)."""
        traced = self.traced[command.traced]
        if traced.record.action.startswith((f"{traced.thread}:", f"{traced.thread},")):
            return True  # another process of the program, through the recording proxy
        return any(t.thread == traced.thread for t in self.traced[command.traced + 1 :])

    def _output(self, index: int) -> str:
        again = self.source.steps(index, index + 1)
        return again[0].record.output if again else self.traced[index].record.output

    def _hidden(self, number: int, end: int, last: bool) -> list[Sent]:
        """The quiet commands step `number` gets (see the class)."""
        actor = self.lesson.steps[number - 1].actor
        mine: list[Sent] = []
        rest: list[Sent] = []
        for command in self._unplaced:
            here = command.lane not in self._lanes or command.lane == actor
            (mine if last or (here and command.index <= end) else rest).append(command)
        self._unplaced = rest
        return mine

    def next_step(self) -> StepRecord:
        number = len(self._records) + 1
        shown, ended = self._decide(number)
        last = number == len(self.lesson.steps)
        if last:
            while ended is None:  # what comes after every step is the last step's
                self.source.wait()
                ended = self._read()
            check_outcome(ended)
            for lane, commands in self._loud.items():
                after = commands[self._taken.get(lane, 0) :]
                self._unplaced += after
                self._undescribed.update(c.index for c in after)
            self._unplaced.sort(key=lambda c: c.index)
        end = max((c.index for c in shown), default=-1)
        hidden = self._hidden(number, end, last)
        # The keys as they were after this step's commands and every earlier step's: the state
        # never goes back in time, whichever lane ran first (a worker's ack and the view's GET
        # race; the step after both shows the ack's effect either way).
        self._last = max(self._last, max((c.traced for c in shown), default=-1))
        watched = self.traced[self._last].watched if self._last >= 0 else None
        # What the program printed after each of them, read now: a print arrives after the step
        # it follows (_after waited for it), so the step as first read may not hold it yet.
        outputs = dict.fromkeys(
            output
            for index in dict.fromkeys(c.traced for c in shown)
            if (output := self._output(index))
        )
        step = self.lesson.steps[number - 1]
        previous = self._records[-1] if self._records else self.start
        record = StepRecord(
            number=number,
            actor=step.actor,
            action=step.action,
            commands=tuple(c.record for c in shown),
            output="\n".join(outputs),
            state=_state(self.lesson, watched),
            variables=(),
            notes=tuple(phrase_for(self.lesson, c, number) for c in shown),
            hidden=tuple(_hidden_line(c) for c in hidden if c.index not in self._undescribed),
            undescribed=tuple(_hidden_line(c) for c in hidden if c.index in self._undescribed),
            code=tuple(dict.fromkeys(c.line for c in shown if c.line)),
        )
        changed = {f"state:{k}" for k, v in record.state if previous.state_map.get(k) != v}
        record = replace(record, changed=frozenset(changed))
        self._records.append(record)
        return record

    # -- LessonRun's face ------------------------------------------------------------------------
    def __iter__(self) -> Iterator[StepRecord]:
        while not self.finished:
            yield self.next_step()

    @property
    def finished(self) -> bool:
        return len(self._records) >= len(self.lesson.steps)

    def __enter__(self) -> ScenarioRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the program (and its workers) if it still runs: the learner left early."""
        self.source.close()


def _hidden_line(command: Sent) -> str:
    never = "" if command.ran else " (queued in a transaction that never ran)"
    return f"{command.record.client}: {command.shown_with_reply}{never}"


def _missing(number: int, step: Step, rest: Sequence[Sent], start: int, run: Run) -> str:
    """Why step `number` never came: the program failed, or the framework sent other commands
    (`rest`: its lane's commands after its earlier steps')."""
    if run.outcome.status != "finished":
        return _failed(run, "before step " + str(number))
    after = f" after {start} of its commands" if start else ""
    missing = [g for g in step.until or [] if not any(c.matches(g) for c in rest)]  # never came
    return (
        f"step {number} ({step.action}): {step.actor} sent no command matching"
        f" {' or '.join(map(repr, missing))}{after}; the framework may have changed what it sends"
    )


def _failed(run: Run, when: str) -> str:
    lines = run.stderr.strip().splitlines()
    detail = run.outcome.message or (lines[-1] if lines else "")
    return f"the lesson's program {Path(run.source).name} did not finish ({run.outcome.status}) {when}: {detail}"


_CODE_LINE = re.compile(r"^([\w.-]+\.py):(\d+): ")
CONTEXT = 2  # lines shown around a step's line of code


def code_in_context(lesson: Lesson, code: Sequence[str]) -> list[str]:
    """The project's lines around each of a step's code lines ("views.py:38: ..."), from the
    files beside the lesson's program (its folder's parent: the Django project), the line itself
    marked; [] when a file is not found there."""
    assert lesson.scenario is not None
    root = Path(lesson.scenario.program).parent.parent
    shown: list[str] = []
    for line in code:
        found = _CODE_LINE.match(line)
        if found is None:
            continue
        name, number = found.group(1), int(found.group(2))
        path = next((p for p in sorted(root.rglob(name)) if "__pycache__" not in p.parts), None)
        if path is None:
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        first = max(number - CONTEXT, 1)
        shown.append(f"{path.relative_to(root)}:")
        for at in range(first, min(number + CONTEXT, len(lines)) + 1):
            mark = ">" if at == number else " "
            shown.append(f"{mark}{at:4} | {lines[at - 1]}")
    return shown


def watched_keys(lesson: Lesson) -> tuple[str, ...]:
    """The keys a scenario's trace reads after every step that writes them."""
    return tuple(k.key for k in lesson.state if k.type != "channel")


def check_outcome(run: Run) -> None:
    """ScenarioError unless the program finished."""
    if run.outcome.status != "finished":
        raise ScenarioError(_failed(run, "at the end"))


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
