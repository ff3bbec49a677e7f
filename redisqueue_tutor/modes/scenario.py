"""A lesson's run, whichever kind it is: a lesson that sends its own commands (lessons.engine),
or a scenario lesson, whose program runs under `tutor trace` (lessons.scenario).

A scenario's program runs on a thread of the tutor's (Feed) while the learner steps: step 1 is
shown as soon as its commands have come, not once the whole run (seconds of workers starting and
timeouts passing) is over. The program never waits for the learner: what it does does not depend
on how long a screen is read.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun
    from redisqueue_tutor.lessons.model import Lesson
    from redisqueue_tutor.modes.trace.parent import TracedProgram
    from redisqueue_tutor.run.backend import Backend
    from redisqueue_tutor.run.records import StepRecord
    from redisqueue_tutor.run.runfile import Run, TracedStep

WAIT = 0.02  # seconds between looks at a running program's steps
STOP_WAIT = 30.0  # seconds the program's thread has to end once the program is told to stop


def open_run(lesson: Lesson, backend: Backend) -> LessonRun:
    """The lesson's run on `backend`. A ScenarioRun has the face of a LessonRun that the modes
    use (start, next_step, iteration); its program runs meanwhile."""
    if lesson.scenario is None:
        from redisqueue_tutor.lessons.engine import LessonRun

        return LessonRun(lesson, backend)
    from redisqueue_tutor.lessons.scenario import ScenarioRun

    return cast("LessonRun", ScenarioRun(lesson, Feed(lesson, backend)))


def run_whole(lesson: Lesson, backend: Backend) -> tuple[StepRecord, list[StepRecord]]:
    """Every step: the start snapshot and the step records (engine.run_lesson, either kind)."""
    with open_run(lesson, backend) as run:
        return run.start, list(run)


class Feed:
    """A scenario's program, traced on a thread of the tutor's: a lessons.scenario.Source."""

    def __init__(self, lesson: Lesson, backend: Backend) -> None:
        from redisqueue_tutor.lessons.scenario import watched_keys
        from redisqueue_tutor.modes.trace.parent import TracedProgram, TraceOptions

        assert lesson.scenario is not None
        options = TraceOptions(
            timeout=lesson.scenario.timeout, whole=True, watch=watched_keys(lesson)
        )
        self.program: TracedProgram = TracedProgram(Path(lesson.scenario.program), options)
        self.backend = backend
        self.run: Run | None = None
        self.error: BaseException | None = None
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._trace, name="tutor-scenario", daemon=True)
        self._thread.start()

    def _trace(self) -> None:
        try:
            self.run = self.program.run(self.backend)
        except BaseException as exc:  # said by ended(), on the learner's thread
            self.error = exc
        finally:
            self._ended.set()

    def steps(self, start: int, stop: int | None = None) -> Sequence[TracedStep]:
        builder = self.program.builder
        return builder.traced(start, stop) if builder is not None else ()

    def ended(self) -> Run | None:
        if not self._ended.is_set():
            return None
        if self.error is not None:
            raise self.error
        return self.run

    def wait(self) -> None:
        self._ended.wait(WAIT)

    def close(self) -> None:
        """Stop the program if it still runs (the learner left early, or Ctrl-C): its process is
        told to end, and the trace's own end stops whatever it started (processes.py)."""
        if not self._ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                self.program.child.send_signal(signal.SIGTERM)  # never a pid already reaped
        self._thread.join(STOP_WAIT)
        # Whatever the thread did (it may have failed before its own clean-up, a program that
        # ended while waiting for its settings, say): the program and all it started are
        # stopped, its pipes closed. Closing twice is nothing.
        self.program.close()
