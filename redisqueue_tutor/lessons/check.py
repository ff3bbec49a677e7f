"""`tutor check`: validate lesson files and run them, proving every claim they make.

A lesson may state what a step shows (`expect = { state = ..., reply = ..., output = ... }`). The
checker runs the lesson on a backend and compares each claim with what Redis really answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from redisqueue_tutor.lessons import LessonError, load_lesson
from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.quiz import RunVariant, prove_keys
from redisqueue_tutor.run.records import StepRecord, python_text, state_text
from redisqueue_tutor.run.tables import step_reply


@dataclass(frozen=True)
class Mismatch:
    step: int
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return (
            f"step {self.step} {self.field}: lesson says {self.expected}, Redis gave {self.actual}"
        )


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
            if claimed != actual[field]:
                mismatches.append(Mismatch(record.number, field, claimed, actual[field]))
        values = record.variable_map
        for name, claimed in expect.variables.items():
            claims += 1
            got = python_text(values[name])
            if claimed != got:
                mismatches.append(Mismatch(record.number, f"variable {name}", claimed, got))
    for proof in prove_keys(lesson, records, run_variant):
        claims += 1
        if not proof.ok:
            field = f"question {proof.question_id} ({proof.problem})"
            mismatches.append(Mismatch(proof.step, field, proof.key, proof.actual))
    return claims, mismatches


def check_paths(paths: list[Path], backend_spec: str | None) -> Iterator[CheckResult]:
    from redisqueue_tutor.lessons.engine import StepRefused, run_lesson
    from redisqueue_tutor.run.backend import running

    for path in paths:
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            yield CheckResult(path, path.stem, error=str(exc))
            continue
        try:
            with running(backend_spec) as backend:
                _start, records = run_lesson(lesson, backend)
        except StepRefused as exc:
            yield CheckResult(path, lesson.id, error=f"{path}: {exc}")
            continue

        def run_variant(variant: Lesson) -> list[StepRecord]:
            with running(backend_spec) as fresh:  # a new namespace: the variant starts clean
                return run_lesson(variant, fresh)[1]

        claims, mismatches = compare(lesson, records, run_variant)
        yield CheckResult(path, lesson.id, claims, tuple(mismatches))
