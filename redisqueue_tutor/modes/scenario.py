"""A lesson's run, whichever kind it is: a lesson that sends its own commands (lessons.engine),
or a scenario lesson, whose program runs under `tutor trace` (lessons.scenario)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun
    from redisqueue_tutor.lessons.model import Lesson
    from redisqueue_tutor.run.backend import Backend
    from redisqueue_tutor.run.records import StepRecord
    from redisqueue_tutor.run.runfile import Run


def open_run(lesson: Lesson, backend: Backend) -> LessonRun:
    """The lesson's run on `backend`: a scenario's program has run whole when this returns.
    A ScenarioRun has the face of a LessonRun that the modes use (start, next_step, iteration)."""
    if lesson.scenario is None:
        from redisqueue_tutor.lessons.engine import LessonRun

        return LessonRun(lesson, backend)
    from redisqueue_tutor.lessons.scenario import ScenarioRun

    return cast("LessonRun", ScenarioRun(lesson, trace_scenario(lesson, backend)))


def run_whole(lesson: Lesson, backend: Backend) -> tuple[StepRecord, list[StepRecord]]:
    """Every step: the start snapshot and the step records (engine.run_lesson, either kind)."""
    with open_run(lesson, backend) as run:
        return run.start, list(run)


def trace_scenario(lesson: Lesson, backend: Backend) -> Run:
    """The scenario's program traced on `backend`, whole values kept, the lesson's keys read
    after every step that writes them; ScenarioError unless it finished."""
    from redisqueue_tutor.lessons.scenario import check_outcome, watched_keys
    from redisqueue_tutor.modes.trace.parent import TraceOptions, trace_program

    assert lesson.scenario is not None
    program = Path(lesson.scenario.program)
    options = TraceOptions(timeout=lesson.scenario.timeout, whole=True, watch=watched_keys(lesson))
    run = trace_program(program, backend, options)
    check_outcome(run, program.name)
    return run
