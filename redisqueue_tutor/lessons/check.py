"""`tutor check`: validate lesson files and run them, proving every claim they make.

A lesson may state what a step shows (`expect = { state = ..., reply = ..., output = ... }`). The
checker runs the lesson on a backend and compares each claim with what Redis really answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from redisqueue_tutor.lessons import LessonError, load_lesson
from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.quiz import RunVariant, prove_keys
from redisqueue_tutor.run.records import StepRecord, command_text, python_text, state_text
from redisqueue_tutor.run.tables import step_reply

if TYPE_CHECKING:
    from redisqueue_tutor.run.backend import Backend


@dataclass(frozen=True)
class Mismatch:
    step: int
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        where = f"step {self.step} {self.field}" if self.step else self.field
        return f"{where}: lesson says {self.expected}, Redis gave {self.actual}"


@dataclass(frozen=True)
class CheckResult:
    path: Path
    lesson_id: str
    claims: int = 0
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.mismatches


def compare(
    lesson: Lesson, records: list[StepRecord], run_variant: RunVariant | None = None
) -> tuple[int, list[Mismatch]]:
    """How many claims the lesson makes, and which of them the run contradicts.

    Quiz answer keys with `answer_from` are claims too; run_variant runs their what-if variants.
    """
    claims = 0
    mismatches: list[Mismatch] = []
    for step, record in zip(lesson.steps, records, strict=True):
        expect = step.expect
        if expect is None:
            continue
        actual = {
            "state": state_text(record.state),
            "reply": step_reply(record, lesson_only=True),
            "output": record.output,
        }
        for field in ("state", "reply", "output"):
            claimed = getattr(expect, field)
            if claimed is None:
                continue
            claims += 1
            if not _holds(claimed, actual[field], wild=lesson.scenario is not None):
                mismatches.append(Mismatch(record.number, field, claimed, actual[field]))
        values = record.variable_map
        for name, claimed in expect.variables.items():
            claims += 1
            got = python_text(values[name])
            if claimed != got:
                mismatches.append(Mismatch(record.number, f"variable {name}", claimed, got))
    if lesson.scenario is not None:
        said, contradicted = phrase_claims(lesson, records)
        claims += said
        mismatches += contradicted
    for proof in prove_keys(lesson, records, run_variant):
        claims += 1
        if not proof.ok:
            field = f"question {proof.question_id} ({proof.problem})"
            mismatches.append(Mismatch(proof.step, field, proof.key, proof.actual))
    return claims, mismatches


Runner = Callable[[Lesson, "Backend"], tuple[StepRecord, list[StepRecord]]]


def _holds(claimed: str, actual: str, *, wild: bool) -> bool:
    """Whether the run shows what the lesson claims. In a scenario lesson a `*` stands for what
    changes from run to run (a task's id, a time); everything else must be as written."""
    if not wild or "*" not in claimed:
        return claimed == actual
    pattern = ".*".join(re.escape(part) for part in claimed.split("*"))
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def phrase_claims(lesson: Lesson, records: list[StepRecord]) -> tuple[int, list[Mismatch]]:
    """A scenario lesson says what the framework does with every command its table shows, and
    each thing it says matches a command of the run: a framework that sends other commands
    than the lesson describes (an upgrade) fails the check."""
    assert lesson.scenario is not None
    claims = 0
    mismatches: list[Mismatch] = []
    said: set[str] = set()
    for record in records:
        for line in record.undescribed:
            claims += 1
            mismatches.append(
                Mismatch(record.number, "a command no step shows", "a step or quiet", line)
            )
        for index, command in enumerate(record.commands):
            note = record.notes[index] if index < len(record.notes) else ""
            claims += 1
            said.add(note)
            if not note:
                shown = f"{command.client}: {command_text(command.args)}"
                mismatches.append(
                    Mismatch(record.number, "phrase", "what each command does", shown)
                )
    for phrase in lesson.scenario.phrases:
        claims += 1
        if phrase.says not in said:
            field = f"phrase {phrase.match!r}"
            mismatches.append(Mismatch(0, field, "a command of the run", "no such command"))
    if lesson.scenario.comparison is not None:
        more, wrong = comparison_claims(lesson, records)
        claims, mismatches = claims + more, mismatches + wrong
    return claims, mismatches


def comparison_claims(lesson: Lesson, records: list[StepRecord]) -> tuple[int, list[Mismatch]]:
    """Each glob of the lesson's comparison picks a command of its row's steps in some column:
    a glob that picks none (a typo, an upgrade) would make its row say "no command" everywhere."""
    from redisqueue_tutor.lessons.scenario import shown_matches

    assert lesson.scenario is not None and lesson.scenario.comparison is not None
    by_number = {record.number: record for record in records}
    claims = 0
    mismatches: list[Mismatch] = []
    for row in lesson.scenario.comparison.rows:
        commands = [c for n in row.steps if n in by_number for c in by_number[n].commands]
        for pattern in row.match:
            claims += 1
            if not any(shown_matches(c, pattern) for c in commands):
                field = f"comparison {row.ask!r}, {pattern!r}"
                mismatches.append(Mismatch(0, field, "a command of its steps", "no such command"))
    return claims, mismatches


def check_paths(
    paths: list[Path], backend_spec: str | None, runner: Runner | None = None
) -> Iterator[CheckResult]:
    """Each lesson loaded, run by `runner` (engine.run_lesson unless given: the CLI gives one
    that runs scenario lessons too) and its claims compared with the run."""
    from redisqueue_tutor.lessons.engine import StepRefused, run_lesson
    from redisqueue_tutor.lessons.scenario import ScenarioError
    from redisqueue_tutor.run.backend import running

    run = runner or run_lesson

    for path in paths:
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            yield CheckResult(path, path.stem, error=str(exc))
            continue
        try:
            with running(backend_spec) as backend:
                _start, records = run(lesson, backend)
        except (StepRefused, ScenarioError) as exc:
            yield CheckResult(path, lesson.id, error=f"{path}: {exc}")
            continue

        def run_variant(variant: Lesson) -> list[StepRecord]:
            with running(backend_spec) as fresh:  # a new namespace: the variant starts clean
                return run(variant, fresh)[1]

        claims, mismatches = compare(lesson, records, run_variant)
        yield CheckResult(path, lesson.id, claims, tuple(mismatches))
