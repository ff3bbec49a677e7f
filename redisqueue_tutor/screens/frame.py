"""Frames that fit the terminal they are drawn in, for every interactive screen.

A step frame is reduced until it fits (`fit_to_screen`): first the key moment folds to its
question, then the tracker shrinks to its latest moments and to one line, then the table's older
rows give way to a note; when even that does not fit, the frame says how big the terminal must
be. A page taller than the terminal (a lesson's closing, the glossary) is scrolled (`Scroller`).
Frames use at most height - 1 lines, so the first line never scrolls away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.step import StepView, step_screen, too_small

MIN_WIDTH = 60  # the compact table stays readable down to here


def sep(look: Look) -> str:
    return " | " if look.plain else " · "


def rule(look: Look) -> Rule:
    """The line between two steps printed one after the other (piped)."""
    return Rule(style="dim", characters="-" if look.plain else "─")


def dim(text: str) -> Text:
    return Text(text, style="dim")


def keys_help(rows: tuple[tuple[str, str], ...], back: str = "the lesson") -> Text:
    """A screen listing keys and what they do; any key goes back."""
    text = Text("Keys\n", style="bold")
    for keys, what in rows:
        text.append(f"  {keys:<12} {what}\n")
    text.append(f"\nAny key goes back to {back}.", style="dim")
    return text


def _height(console: Console, renderable: RenderableType) -> int:
    return len(console.render_lines(renderable, console.options, pad=False))


def fit_to_screen(
    view: StepView, console: Console, look: Look, *, moment_wanted: bool = False
) -> StepView | None:
    """The view reduced until it fits the terminal, or None when nothing readable fits.

    In order: the key moment folds to its question (unless the learner asked for it with k),
    the tracker keeps Start and its latest moments, then only one line ("Now: ..."), then the
    table's oldest rows give way to a note of what is above; the current row always stays. A
    frame uses at most height - 1 lines, so the first line never scrolls away.
    """
    width, height = console.size
    if width < MIN_WIDTH:
        return None

    def fits(candidate: StepView) -> bool:
        return _height(console, step_screen(candidate, look)) < height

    if fits(view):
        return view
    steps: list[dict[str, Any]] = [
        *([{"moment_open": False}] if not moment_wanted else []),
        {"tracker_latest": 3},
        {"tracker_latest": 2},
        {"tracker_latest": 1},
        {"tracker_latest": 0},
    ]
    for change in steps:
        view = replace(view, **change)
        if fits(view):
            return view
    last = len(view.records) - 1  # hiding every row before the current one
    if last >= 1:
        if fits(replace(view, table_from=last)):
            low, high = 1, last  # the fewest hidden rows that fit: more hidden, fewer lines
            while low < high:
                middle = (low + high) // 2
                if fits(replace(view, table_from=middle)):
                    high = middle
                else:
                    low = middle + 1
            return replace(view, table_from=low)
        view = replace(view, table_from=last)
    last_resorts: tuple[dict[str, Any], ...] = (
        {"moment_open": False},
        {"show_code": False},
        {"tight": True},
        {"phrases": False},  # a scenario's row without what the framework does
        # A row taller than the terminal (a traced pipeline of big values): its cells cut.
        *({"cell_chars": chars} for chars in (800, 400, 200, 100, 50)),
    )
    for change in last_resorts:
        view = replace(view, **change)
        if fits(view):
            return view
    return None


def _most_reduced(view: StepView) -> StepView:
    return replace(
        view,
        moment_open=False,
        tracker_latest=0,
        table_from=max(len(view.records) - 1, 0),
        show_code=False,
        tight=True,
        phrases=False,
        cell_chars=50,
    )


def fitted_frame(
    view: StepView, console: Console, look: Look, *, moment_wanted: bool = False
) -> tuple[RenderableType, StepView | None]:
    """What to draw: the fitted step screen, or how big the terminal must be."""
    fitted = fit_to_screen(view, console, look, moment_wanted=moment_wanted)
    if fitted is not None:
        return step_screen(fitted, look), fitted
    width, height = console.size
    narrow = replace(console.options, max_width=max(width, MIN_WIDTH))
    need_height = len(
        console.render_lines(
            step_screen(
                _most_reduced(view),
                look,
            ),
            narrow,
            pad=False,
        )
    )
    need = (
        max(width, MIN_WIDTH),
        max(height, need_height + 1) if width >= MIN_WIDTH else need_height + 1,
    )
    return too_small(width, height, need, look), None


def fit_renderable(
    parts: list[RenderableType], console: Console, keep: int = 1
) -> list[RenderableType]:
    """Drop parts from the end (but the first `keep`) until the rest fits the terminal's height."""
    from rich.console import Group

    height = console.size.height
    while len(parts) > keep and _height(console, Group(*parts)) >= height:
        parts = parts[:-1]
    return parts


UP_KEYS = ("\x1b[A", "\x1bOA", "k", "K")
DOWN_KEYS = ("\x1b[B", "\x1bOB", "j", "J")
PAGE_UP = ("\x1b[5~",)
PAGE_DOWN = ("\x1b[6~", " ")


@dataclass
class Scroller:
    """A page taller than the terminal, shown a window at a time (↑/↓, Page Up/Down, space)."""

    offset: int = 0
    below: bool = False  # lines below the window, after the last frame

    def frame(
        self,
        console: Console,
        body: RenderableType,
        footer: str,
        look: Look,
        *,
        more: str | None = None,
    ) -> Group:
        """The window of `body` at the offset, then `footer` (`more` instead, when given, while
        lines are left below the window)."""
        from rich.segment import Segment, Segments  # only the scrolled pages need it

        lines = console.render_lines(body, console.options, pad=False)
        arrows = "Up/Down" if look.plain else "↑/↓"
        longest = max(footer, more or "", key=len)
        scrolling = sep(look).join(
            [f"lines 10000-10000 of {len(lines)}", f"{arrows} scroll", longest]
        )
        room = max(console.size.height - 1 - _height(console, Text(scrolling)), 1)
        if len(lines) <= console.size.height - 1 - _height(console, Text(footer)):
            room = len(lines)
        self.offset = max(0, min(self.offset, len(lines) - room))
        shown = lines[self.offset : self.offset + room]
        segments: list[Segment] = []
        for line in shown:
            segments.extend(line)
            segments.append(Segment.line())
        self.room = room
        self.below = self.offset + len(shown) < len(lines)
        if len(lines) > room:
            said = more if more is not None and self.below else footer
            where = f"lines {self.offset + 1}-{self.offset + len(shown)} of {len(lines)}"
            footer = sep(look).join([where, f"{arrows} scroll", said])
        return Group(Segments(segments), Text(footer, style="dim"))

    def handle(self, key: str) -> bool:
        """Scroll for a scrolling key; False for any other key."""
        step = getattr(self, "room", 10)
        if key in UP_KEYS:
            self.offset -= 1
        elif key in DOWN_KEYS:
            self.offset += 1
        elif key in PAGE_UP:
            self.offset -= step
        elif key in PAGE_DOWN:
            self.offset += step
        else:
            return False
        self.offset = max(self.offset, 0)
        return True


def with_footer(body: RenderableType, footer: str, console: Console) -> RenderableType:
    return Group(*fit_renderable([Text(footer, style="dim"), body], console)[::-1])


def draw(console: Console, renderable: RenderableType) -> None:
    console.clear()
    console.print(renderable)
