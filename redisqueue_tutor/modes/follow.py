"""A student following the presenter: their own tutor runs the lesson (on its embedded server)
and shows the screen the teacher shows, as `tutor present` draws it."""

from __future__ import annotations

import re
from contextlib import ExitStack

from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.modes.present import Deck
from redisqueue_tutor.modes.scenario import open_run
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.step import opening_card

LESSON_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class Following:
    """The presenter's lesson, run here; `frame(index)` is the teacher's screen `index`.

    A lesson that cannot run here is a `problem` line, never the end of the student's screen."""

    def __init__(self, lesson_id: str, *, pauses: bool, look: Look) -> None:
        self.lesson_id = lesson_id
        self.pauses = pauses
        self.problem = ""
        self._stack = ExitStack()
        self._deck: Deck | None = None
        # Only a lesson this tutor has, by its id: the board is written by others, and a path
        # there would make this tutor run whatever program a lesson file names.
        if not LESSON_ID.match(lesson_id) or lesson_id not in discover():
            self.problem = (
                f"the teacher presents {lesson_id[:40]!r}, a lesson this tutor does not have"
            )
            return
        try:
            found = find_lesson(lesson_id)
            backend = self._stack.enter_context(running("fake"))
            run = self._stack.enter_context(open_run(found, backend))
        except Exception as exc:
            self._stack.close()
            self.problem = f"the lesson {lesson_id} could not run here: {str(exc)[:100]}"
            return
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
        try:
            return self._deck.frame(index, console, look, footer)[0]
        except Exception as exc:
            self.problem = f"the lesson {self.lesson_id} stopped here: {str(exc)[:100]}"
            self.close()
            return None

    def close(self) -> None:
        self._deck = None
        self._stack.close()
