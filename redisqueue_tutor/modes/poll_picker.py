"""`p` on the dashboard: choose one of a lesson's quiz questions and put it to the class.

It opens on the lesson most of the room is on; ←/→ change the lesson (in the course's order),
↑/↓ the question, Enter asks it, Esc cancels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from redisqueue_tutor.classroom.room import Room
from redisqueue_tutor.lessons import LessonError, discover, find_lesson
from redisqueue_tutor.lessons.course import load_course
from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.screens.keys import DOWN, ENTER, LEFT, QUIT_KEYS, RIGHT, UP


@dataclass
class Picker:
    lessons: list[str]  # ids, in the course's order
    at: int = 0
    question: int = 0
    _loaded: dict[str, Lesson | None] | None = None

    @classmethod
    def for_room(cls, room: Room) -> Picker:
        ids = load_course().ordered(list(discover()))
        on = Counter(s.lesson for s in room.students.values() if s.lesson and not s.left)
        busiest = on.most_common(1)[0][0] if on else ""
        return cls(ids, ids.index(busiest) if busiest in ids else 0)

    @property
    def lesson(self) -> Lesson | None:
        if self._loaded is None:
            self._loaded = {}
        lesson_id = self.lessons[self.at]
        if lesson_id not in self._loaded:
            try:
                self._loaded[lesson_id] = find_lesson(lesson_id)
            except LessonError:
                self._loaded[lesson_id] = None
        return self._loaded[lesson_id]

    def key(self, key: str) -> str:
        """ "ask" (Enter on a question), "cancel", or "" (moved)."""
        count = len(self.lesson.questions) if self.lesson else 0
        if key in QUIT_KEYS:
            return "cancel"
        if key in ENTER and count:
            return "ask"
        if key in (*RIGHT, "l"):
            self.at, self.question = (self.at + 1) % len(self.lessons), 0
        elif key in (*LEFT, "h"):
            self.at, self.question = (self.at - 1) % len(self.lessons), 0
        elif key in (*DOWN, "j") and count:
            self.question = (self.question + 1) % count
        elif key in (*UP, "k") and count:
            self.question = (self.question - 1) % count
        return ""
