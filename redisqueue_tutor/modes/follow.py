"""A student following the presenter: their own tutor runs the lesson (on its embedded server)
and shows the screen the teacher shows, as `tutor present` draws it."""

from __future__ import annotations

from contextlib import ExitStack

from redisqueue_tutor.lessons import LessonError, UnknownLesson, find_lesson
from redisqueue_tutor.modes.present import Deck
from redisqueue_tutor.modes.scenario import open_run
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.step import opening_card


class Following:
    """The presenter's lesson, run here; `frame(index)` is the teacher's screen `index`."""

    def __init__(self, lesson_id: str, *, pauses: bool, look: Look) -> None:
        self.lesson_id = lesson_id
        self.pauses = pauses
        self.problem = ""
        self._stack = ExitStack()
        self._deck: Deck | None = None
        try:
            found = find_lesson(lesson_id)
        except (UnknownLesson, LessonError):
            self.problem = f"the teacher presents {lesson_id!r}, a lesson this tutor does not have"
            return
        backend = self._stack.enter_context(running("fake"))
        run = self._stack.enter_context(open_run(found, backend))
        self._deck = Deck(
            run,
            backend.describe(),
            notes=False,
            pauses=pauses,
            card=lambda console: opening_card(found, look, console),
        )

    def frame(self, index: int, console: Console, look: Look, footer: str) -> Renderable | None:
        if self._deck is None:
            return None
        index = min(max(index, 0), len(self._deck.plan) - 1)
        return self._deck.frame(index, console, look, footer)[0]

    def close(self) -> None:
        self._stack.close()
