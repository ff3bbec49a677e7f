"""The course: the lessons in teaching order, the glossary, and what a learner should do next.

`lessons/course.toml` (format 1) holds the order and the glossary; an author's lessons folder may
carry its own course.toml, whose order comes first. Read with tomllib alone (like `tutor list`),
so that `tutor` with no arguments stays quick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from redisqueue_tutor.lessons import COURSE_FILE, LessonError, lesson_dirs, read_toml


@dataclass(frozen=True)
class Term:
    term: str
    means: str
    lessons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Course:
    order: tuple[str, ...]
    glossary: tuple[Term, ...]

    def ordered(self, lesson_ids: Sequence[str]) -> list[str]:
        """The given lessons in teaching order; lessons the course does not name come last."""
        known = [i for i in self.order if i in lesson_ids]
        return known + sorted(i for i in lesson_ids if i not in self.order)

    def after(self, lesson_id: str, lesson_ids: Sequence[str]) -> str | None:
        ordered = self.ordered(lesson_ids)
        if lesson_id not in ordered:
            return None
        index = ordered.index(lesson_id)
        return ordered[index + 1] if index + 1 < len(ordered) else None

    def terms_for(self, lesson_id: str) -> tuple[Term, ...]:
        return tuple(t for t in self.glossary if lesson_id in t.lessons)


def _read(path: Path) -> Course:
    _text, data = read_toml(path)
    if data.get("format") != 1:
        raise LessonError(path, "format must be 1", field="format")
    unknown = set(data) - {"format", "order", "glossary"}
    if unknown:
        raise LessonError(path, f"unknown field(s): {', '.join(sorted(unknown))}")
    order = data.get("order", [])
    if not isinstance(order, list) or not all(isinstance(i, str) for i in order):
        raise LessonError(path, "must be a list of lesson ids", field="order")
    glossary = data.get("glossary", [])
    if not isinstance(glossary, list):
        raise LessonError(path, "must be a list of [[glossary]] tables", field="glossary")
    terms = []
    for index, entry in enumerate(glossary):
        where = f"glossary[{index + 1}]"
        if not isinstance(entry, Mapping) or set(entry) - {"term", "means", "lessons"}:
            raise LessonError(path, "has term, means and lessons only", field=where)
        term, means = entry.get("term"), entry.get("means")
        if not isinstance(term, str) or not isinstance(means, str) or not term or not means:
            raise LessonError(path, "needs a term and what it means", field=where)
        lessons = entry.get("lessons", [])
        if not isinstance(lessons, list) or not all(isinstance(i, str) for i in lessons):
            raise LessonError(path, "must be a list of lesson ids", field=f"{where}.lessons")
        terms.append(Term(term, " ".join(means.split()), tuple(lessons)))
    return Course(tuple(order), tuple(terms))


def check_course(path: Path, lesson_ids: Sequence[str]) -> tuple[Course, list[str]]:
    """The course file read strictly, and what is wrong with it: lessons its order or glossary
    names that do not exist, a lesson named twice. Raises LessonError when it cannot be read."""
    course = _read(path)
    problems = [
        f"order names '{lesson_id}', which is not a lesson here"
        for lesson_id in sorted(set(course.order) - set(lesson_ids))
    ]
    problems.extend(
        f"order names '{lesson_id}' more than once"
        for lesson_id in sorted({i for i in course.order if course.order.count(i) > 1})
    )
    problems.extend(
        f"glossary '{term.term}' names '{lesson_id}', which is not a lesson"
        for term in course.glossary
        for lesson_id in term.lessons
        if lesson_id not in lesson_ids
    )
    return course, problems


def load_course(extra: Sequence[Path] = ()) -> Course:
    """The packaged course, with an author's folder's course.toml (if any) taking precedence."""
    order: list[str] = []
    glossary: dict[str, Term] = {}
    for folder, _builtin in reversed(lesson_dirs(extra)):  # the author's folders first
        path = folder / COURSE_FILE
        if not path.is_file():
            continue
        course = _read(path)
        order += [i for i in course.order if i not in order]
        for term in course.glossary:
            glossary.setdefault(term.term.lower(), term)
    return Course(tuple(order), tuple(sorted(glossary.values(), key=lambda t: t.term.lower())))


@dataclass(frozen=True)
class Standing:
    """Where a learner stands on one lesson."""

    lesson_id: str
    steps_seen: int
    steps: int
    quizzes: int
    best: str  # "7/10", or "" before the first quiz

    @property
    def stepped(self) -> bool:
        return bool(self.steps) and self.steps_seen >= self.steps

    @property
    def done(self) -> bool:
        return self.stepped and self.quizzes > 0


def next_command(standings: Sequence[Standing]) -> str | None:
    """The next thing to do, in course order: finish stepping a lesson, then its quiz."""
    for standing in standings:
        if not standing.stepped:
            return f"tutor step {standing.lesson_id}"
        if not standing.quizzes:
            return f"tutor quiz {standing.lesson_id}"
    return None


def what_next(lesson_id: str, course: Course, lesson_ids: Sequence[str]) -> str:
    """The line a lesson ends on: its quiz, then the next lesson of the course."""
    after = course.after(lesson_id, lesson_ids)
    then = f", then the next lesson: tutor step {after}" if after else ""
    return f"Next: test yourself with tutor quiz {lesson_id}{then}"
