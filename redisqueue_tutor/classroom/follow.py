"""Follow me: the presenter's screens told to the class, so that students who follow see the
same step on their own screen (their own tutor runs the lesson and shows the same beat)."""

from __future__ import annotations

from typing import Any

import redis

from redisqueue_tutor.classroom.keys import BOARD_MAXLEN
from redisqueue_tutor.classroom.link import what_failed
from redisqueue_tutor.classroom.teacher import Session


class Broadcast:
    """Called with the index of every screen the presenter shows; tells the board when it
    changes. A server that goes away never stops the presentation: `problem` says so."""

    def __init__(self, session: Session, lesson: str, *, pauses: bool) -> None:
        self.session = session
        self.lesson = lesson
        self.pauses = pauses
        self.problem = ""
        self._last: int | None = None

    def __call__(self, index: int) -> None:
        if index == self._last:
            return
        self._last = index
        self._tell(
            {"lesson": self.lesson, "beat": str(index), "pauses": "1" if self.pauses else ""}
        )

    def end(self) -> None:
        """The presentation is over: followers go back to their class screen."""
        self._tell({"lesson": "", "beat": "0"})

    def _tell(self, fields: dict[str, str]) -> None:
        entry: dict[Any, Any] = {"kind": "present", **fields}
        try:
            self.session.client.xadd(
                self.session.keys.board, entry, maxlen=BOARD_MAXLEN, approximate=True
            )
        except (redis.RedisError, OSError) as exc:
            self.problem = f"the class did not hear the presentation: {what_failed(exc)}"


def board_presenting(fields: dict[str, str]) -> tuple[str, int, bool] | None:
    """(lesson, screen index, pauses) of a "present" board entry; None when it is something
    else; ("", 0, False) when the presentation ended."""
    if fields.get("kind") != "present":
        return None
    beat = fields.get("beat", "0")
    lesson = fields.get("lesson", "")[:100]
    if not beat.isdigit() or int(beat) > 10_000:
        return None
    return lesson, int(beat), fields.get("pauses") == "1"
