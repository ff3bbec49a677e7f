"""Presenter screens: the current command and its result large and alone, the table below.

Built from render.py's public pieces (Look, execution_table) so --plain, NO_COLOR and the compact
layout below 90 columns hold here too. A projector is read from the back of a room: one idea per
screen, generous padding, nothing the class does not need (the tracker stays in `tutor step`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.run.records import StepRecord, command_text, state_text
from redisqueue_tutor.run.tables import execution_row
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.frame import MIN_WIDTH
from redisqueue_tutor.screens.step import comparisons, too_small
from redisqueue_tutor.screens.table import execution_table, is_compact

ASK_STYLE = "bold yellow"
COMMAND_STYLE = "bold"
RESULT_STYLE = "bold green"


@dataclass(frozen=True)
class Slide:
    """What one presenter screen shows. Before the reveal `records` stop at the step before."""

    lesson: Lesson
    start: StepRecord
    records: tuple[StepRecord, ...]
    step: int
    total: int
    reveal: bool
    question: str | None
    notes: tuple[str, str] | None
    backend: str
    footer: str = ""
    # Fitting a short terminal: the big panel's padding, the table's first row shown (None: no
    # table at all), and whether the notes are shown in full.
    padding: int = 1
    table_from: int | None = 0
    # A scenario's step in a short terminal: without what the framework does, then only its
    # last commands (the big panel says how many are left out).
    phrases: bool = True
    last_commands: int | None = None
    comparison: bool = True  # the last slide: the lesson's comparison, when it fits


def _big_panel(slide: Slide, look: Look) -> Panel:
    lesson = slide.lesson
    step = lesson.steps[slide.step - 1]
    arrow = "->" if look.plain else "→"
    body = Text(justify="left")
    if slide.reveal:
        record = slide.records[-1]
        row = execution_row(record, frozenset(lesson.key_names))
        title = f"{record.actor}: {record.action}"
        lines = row.lines
        if slide.last_commands is not None and len(lines) > slide.last_commands:
            left = len(lines) - slide.last_commands
            lines = lines[left:]
            body.append(f"({left} earlier command{'s' if left > 1 else ''} in the table)\n", "dim")
        if lines:
            for index, line in enumerate(lines):
                if index:
                    body.append("\n")
                body.append(line.command, style=COMMAND_STYLE)
                body.append(f"\n  {arrow} ", style="dim")
                body.append(line.reply, style=RESULT_STYLE)
                if line.note and slide.phrases:
                    body.append(f"\n  {line.note}", style="italic dim")
        else:
            body.append("No Redis command: this step runs in Python only.", style="dim")
        body.append("\n\n")
        body.append(f"{_state_name(record)}", style="bold cyan")
        body.append(state_text(record.state))
        if row.output != "None":
            body.append("\nOutput  ", style="bold cyan")
            body.append(row.output)
    else:
        title = f"{step.actor}: next step"
        # Written as the table will show it once it has run: LPUSH queue 'task1'.
        upcoming = (
            command_text(tuple(shlex.split(step.command)), frozenset(lesson.key_names))
            if step.command
            else step.action
            if lesson.scenario is not None  # its commands are the run's, not the lesson's
            else "(a step in Python only)"
        )
        body.append(upcoming, style=COMMAND_STYLE)
        body.append(f"\n  {arrow} ", style="dim")
        body.append("?", style=ASK_STYLE)
    return Panel(
        Padding(body, (slide.padding, 2 * slide.padding)),
        title=Text(title, style="bold"),
        title_align="left",
        box=look.box,
    )


def _state_name(record: StepRecord) -> str:
    if len(record.state) == 1:
        return f"{record.state[0][0]}  "
    return "State  "


def _question_panel(question: str, look: Look, padding: int = 1) -> Panel:
    title = "Ask the class" if look.plain else "❓ Ask the class"
    return Panel(
        Padding(Text(question, style=ASK_STYLE), (padding, 2 * padding)),
        title=title,
        title_align="left",
        box=look.box,
    )


class SlideScreen:
    def __init__(self, slide: Slide, look: Look) -> None:
        self.slide = slide
        self.look = look

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        slide, look = self.slide, self.look
        dot = "-" if look.plain else "·"
        yield Text(slide.lesson.title, style="bold")
        yield Text.assemble(
            (f"Step {slide.step} of {slide.total}", "bold cyan"),
            ("" if slide.reveal else f"  {dot}  result hidden", "bold yellow"),
            (f"  {dot}  {slide.backend}", "dim"),
            no_wrap=True,
            overflow="ellipsis",
        )
        yield _big_panel(slide, look)
        if slide.question and not slide.reveal:
            yield _question_panel(slide.question, look, slide.padding)
        if slide.records and slide.table_from is not None:
            shown = slide.records[slide.table_from :]
            title = "Execution table"
            if slide.table_from:
                hidden = slide.records[slide.table_from - 1].number
                title += " (step 1 is above)" if hidden == 1 else f" (steps 1-{hidden} are above)"
            yield execution_table(
                slide.lesson,
                shown,
                current=slide.step if slide.reveal else None,
                look=look,
                compact=is_compact(options.max_width),
                width=options.max_width,
                title=title,
            )
        finished = slide.reveal and slide.step == slide.total
        if finished and slide.comparison:
            yield from comparisons(slide.lesson, slide.records, look)
        if finished and slide.lesson.end_note:
            yield Text(("" if look.plain else "✔ ") + slide.lesson.end_note, style="green")
        if slide.notes:
            where, notes = slide.notes
            yield Panel(
                Text(notes),
                title=where,
                title_align="left",
                box=look.box,
                border_style="dim",
            )
        if slide.footer:
            yield Text(slide.footer, style="dim")


def slide_screen(slide: Slide, look: Look) -> RenderableType:
    return SlideScreen(slide, look)


def fit_slide(slide: Slide, console: Console, look: Look) -> Slide | None:
    """The slide reduced until it fits the terminal: less padding, then the table's older rows,
    then no table, no comparison (the last slide), no notes; None when even the big panel does
    not fit."""
    height = console.size.height
    if console.size.width < MIN_WIDTH:
        return None

    def fits(candidate: Slide) -> bool:
        lines = console.render_lines(slide_screen(candidate, look), console.options, pad=False)
        return len(lines) < height

    if fits(slide):
        return slide
    slide = replace(slide, padding=0)
    if fits(slide):
        return slide
    keep = len(slide.records) - 1 if slide.reveal else len(slide.records)
    for start in range(1, max(keep, 0) + 1):
        if fits(replace(slide, table_from=start)):
            return replace(slide, table_from=start)
    reductions: tuple[dict[str, Any], ...] = (
        {"table_from": None},
        {"comparison": False},
        {"notes": None},
        {"phrases": False},
        *({"last_commands": n} for n in (6, 4, 3, 2, 1)),
    )
    for change in reductions:
        slide = replace(slide, **change)
        if fits(slide):
            return slide
    return None


def slide_frame(slide: Slide, console: Console, look: Look) -> tuple[RenderableType, bool]:
    """What to draw: the fitted slide (True), or how big the terminal must be (False)."""
    fitted = fit_slide(slide, console, look)
    if fitted is not None:
        return slide_screen(fitted, look), True
    width, height = console.size
    bare = replace(
        slide,
        padding=0,
        table_from=None,
        notes=None,
        phrases=False,
        last_commands=1,
        comparison=False,
    )
    lines = console.render_lines(
        slide_screen(bare, look), replace(console.options, max_width=max(width, MIN_WIDTH))
    )
    return too_small(width, height, (max(width, MIN_WIDTH), len(lines) + 1), look), False
