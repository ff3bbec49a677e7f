"""Presenter screens: the current command and its result large and alone, the table below.

Built from render.py's public pieces (Look, execution_table) so --plain, NO_COLOR and the compact
layout below 90 columns hold here too. A projector is read from the back of a room: one idea per
screen, generous padding, nothing the class does not need (the tracker stays in `tutor step`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.run.records import StepRecord, command_text, state_text
from redisqueue_tutor.run.tables import execution_row
from redisqueue_tutor.screens.step import Look, execution_table, is_compact

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


def _big_panel(slide: Slide, look: Look) -> Panel:
    lesson = slide.lesson
    step = lesson.steps[slide.step - 1]
    arrow = "->" if look.plain else "→"
    body = Text(justify="left")
    if slide.reveal:
        record = slide.records[-1]
        row = execution_row(record, frozenset(lesson.key_names))
        title = f"{record.actor}: {record.action}"
        if row.lines:
            for index, line in enumerate(row.lines):
                if index:
                    body.append("\n")
                body.append(line.command, style=COMMAND_STYLE)
                body.append(f"\n  {arrow} ", style="dim")
                body.append(line.reply, style=RESULT_STYLE)
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
