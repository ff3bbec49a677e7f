"""The console, how to draw on it, and the few tables that need no run (the lesson list).

Kept apart from render.py so that `tutor list` and `tutor --help` load only this: every other
screen needs the run's records and the heavier renderers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, NamedTuple

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


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
        table.add_row(ident, entry.title, entry.level, str(entry.steps), str(entry.questions))
    if not all(e.builtin for e in entries):
        table.caption = "* from your lessons folder"
    return table


def error_line(console: Console, message: str) -> None:
    console.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def key_reader(read: Callable[[], str] | None = None) -> Callable[[], str]:
    """Read one key at a time.

    click's getchar reads up to 32 bytes at once, so keys typed quickly (or pasted, or sent by a
    clicker) arrive together: "18\\r" would be one string. This hands them out one by one, keeping
    an escape sequence (an arrow key, Page Down) whole.
    """
    if read is None:
        import typer

        read = typer.getchar
    pending: list[str] = []

    def next_key() -> str:
        if not pending:
            pending.extend(split_keys(read()))
        return pending.pop(0) if pending else ""

    return next_key


def split_keys(chunk: str) -> list[str]:
    keys: list[str] = []
    index = 0
    while index < len(chunk):
        if chunk[index] == "\x1b":
            end = index + 1
            # CSI (ESC [ ... final) and SS3 (ESC O x) sequences; a lone ESC is a key of its own.
            if end < len(chunk) and chunk[end] in "[O":
                end += 1
                while end < len(chunk) and not (chunk[end].isalpha() or chunk[end] == "~"):
                    end += 1
                end += 1
            keys.append(chunk[index:end])
            index = end
        else:
            keys.append(chunk[index])
            index += 1
    return keys
