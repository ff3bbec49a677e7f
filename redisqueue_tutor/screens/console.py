"""The console, how to draw on it, and the few tables that need no run (the lesson list).

Kept apart from render.py so that `tutor list` and `tutor --help` load only this: every other
screen needs the run's records and the heavier renderers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, Any, NamedTuple

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

# The key API, re-exported: the interactive commands take their key reader from here.
from redisqueue_tutor.screens.keys import key_reader as key_reader
from redisqueue_tutor.screens.keys import split_keys as split_keys
from redisqueue_tutor.wording import printable


def make_console(
    file: IO[str] | None = None,
    *,
    plain: bool = False,
    width: int | None = None,
    stderr: bool = False,
    record: bool = False,
) -> Console:
    """A console that honours NO_COLOR (Rich does) and --plain (no colour, ASCII boxes)."""
    return Console(
        file=file,
        stderr=stderr,
        width=width,
        no_color=plain or None,
        color_system=None if plain else "auto",
        highlight=False,
        emoji=not plain,
        safe_box=True,
        record=record,
    )


# What the modes hand around without importing Rich themselves: a console, and something it draws.
Renderable = RenderableType
__all__ = ["Console", "Look", "Renderable", "make_console"]


class Look(NamedTuple):
    """How to draw: box style and markers, chosen once from --plain."""

    plain: bool

    @property
    def box(self) -> box.Box:
        return box.ASCII if self.plain else box.ROUNDED

    @property
    def marker(self) -> str:
        return ">" if self.plain else "▶"

    def bullet(self) -> str:
        return "-" if self.plain else "•"


class LessonEntry(NamedTuple):
    id: str
    title: str
    level: str
    steps: int
    questions: int
    builtin: bool


def lesson_list(entries: Sequence[LessonEntry], look: Look) -> Table:
    table = Table(box=look.box, title="Lessons", title_justify="left")
    table.add_column("ID", style="bold cyan", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Level", no_wrap=True)
    table.add_column("Steps", justify="right")
    table.add_column("Quiz", justify="right")
    for entry in entries:
        ident = entry.id if entry.builtin else f"{entry.id}*"
        table.add_row(
            Text(ident), Text(entry.title), entry.level, str(entry.steps), str(entry.questions)
        )
    if not all(e.builtin for e in entries):
        table.caption = "* from your lessons folder"
    return table


def course_table(
    lessons: Sequence[tuple[Any, bool]], standings: Sequence[Any], look: Look
) -> Table:
    """The course in teaching order: each lesson and how far the learner is."""
    table = Table(box=look.box, title="The course, in teaching order", title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Lesson", style="bold cyan", no_wrap=True)
    table.add_column("What it teaches", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("Steps", justify="right", no_wrap=True)
    table.add_column("Quiz", justify="right", no_wrap=True)
    tick = "ok" if look.plain else "✔"
    for number, ((summary, builtin), standing) in enumerate(
        zip(lessons, standings, strict=True), start=1
    ):
        steps = f"{standing.steps_seen}/{standing.steps}"
        if standing.stepped:
            steps = f"{tick} {steps}"
        quiz = standing.best or "-"
        ident = summary.id if builtin else f"{summary.id}*"
        table.add_row(str(number), Text(ident), Text(summary.title), steps, quiz)
    if not all(builtin for _summary, builtin in lessons):
        table.caption = "* from your lessons folder"
    return table


def glossary_table(terms: Sequence[Any], look: Look) -> Table:
    table = Table(box=look.box, title="Glossary", title_justify="left", show_lines=not look.plain)
    table.add_column("Word", style="bold", no_wrap=True)
    table.add_column("What it means", overflow="fold", ratio=1)
    for term in terms:
        table.add_row(Text(term.term), Text(term.means))
    return table


def error_line(console: Console, message: str) -> None:
    console.print(Text.assemble(("Error: ", "bold red"), printable(message)), soft_wrap=True)


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
