"""Lessons: the format, finding and loading files, the course, questions and quizzes, running a
lesson (engine) and proving what it claims (check).

`from redisqueue_tutor.lessons import find_lesson, discover, LessonError` is the way in: loading
needs neither pydantic's models nor Redis, so `tutor list` stays quick; the models (Lesson, Step...)
are imported on first use.
"""

from __future__ import annotations

from typing import Any

from redisqueue_tutor.lessons.loading import (
    COURSE_FILE,
    ENV_LESSONS_DIR,
    FORMAT_VERSION,
    LESSON_SUFFIX,
    LessonError,
    LessonSource,
    LessonSummary,
    UnknownLesson,
    builtin_lessons_dir,
    discover,
    find_lesson,
    lesson_dirs,
    load_lesson,
    locate,
    parse_lesson,
    read_toml,
    summarize,
    summarize_all,
)
from redisqueue_tutor.wording import format_loc

__all__ = [
    "COURSE_FILE",
    "ENV_LESSONS_DIR",
    "FORMAT_VERSION",
    "LESSON_SUFFIX",
    "LessonError",
    "LessonSource",
    "LessonSummary",
    "UnknownLesson",
    "builtin_lessons_dir",
    "discover",
    "find_lesson",
    "format_loc",
    "lesson_dirs",
    "load_lesson",
    "locate",
    "parse_lesson",
    "read_toml",
    "summarize",
    "summarize_all",
]

_MODELS = {
    "Lesson",
    "Step",
    "Client",
    "StateKey",
    "Expect",
    "Moment",
    "Concept",
    "fill_template",
    "template_names",
}


def __getattr__(name: str) -> Any:
    # The models live in lessons.model, imported lazily to keep `tutor list` fast.
    if name in _MODELS:
        from redisqueue_tutor.lessons import model

        return getattr(model, name)
    raise AttributeError(name)
