"""Everything the learner reads, drawn with Rich. The only module that imports Rich.

Renderers take records and plain cells (see tables.py) and never talk to Redis. Each client of a
scenario gets its own colour (its lane), so a table with many clients stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.run.records import StepRecord, fold, python_text
from redisqueue_tutor.run.tables import EXECUTION_HEADERS, ExecutionRow, execution_row, tracker
from redisqueue_tutor.screens.console import (  # noqa: F401  (re-exported: render is the drawing API)
    LessonEntry,
    Look,
    error_line,
    lesson_list,
    make_console,
    stdin_is_interactive,
)
from redisqueue_tutor.wording import joined, noun

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.model import Lesson


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _Moment(Protocol):
    @property
    def question(self) -> str: ...

    @property
    def answer(self) -> str: ...


class Screenplay(Protocol):
    """What a step screen needs from what was run: a Lesson, or a traced program's Run.

    Lanes (colours) come from `clients`, bare names from `key_names`, the step count from `steps`.
    """

    @property
    def title(self) -> str: ...

    @property
    def clients(self) -> Sequence[_Named]: ...

    @property
    def key_names(self) -> Sequence[str]: ...

    @property
    def steps(self) -> Sequence[object]: ...

    @property
    def compare(self) -> Sequence[str]: ...

    @property
    def end_note(self) -> str: ...

    def moment_for(self, step_number: int) -> _Moment | None: ...

    def code_for(self, step_number: int) -> str | None: ...


LANE_STYLES = ("cyan", "magenta", "green", "blue", "yellow", "red")
CHANGED = "bold yellow"
CURRENT = "bold"


def lane_styles(lesson: Screenplay) -> dict[str, str]:
    return {c.name: LANE_STYLES[i % len(LANE_STYLES)] for i, c in enumerate(lesson.clients)}


# Columns below which the table is compact (command and reply under the action). Chosen from the
# width alone, never from the values seen so far, so that at one width every step of a lesson has
# the same layout.
WIDE_FROM = 110
COMPACT_BELOW = WIDE_FROM


STACKED_BELOW = 76  # columns below which each step is one stacked cell


def is_compact(width: int) -> bool:
    return width < WIDE_FROM


def is_stacked(width: int) -> bool:
    return width < STACKED_BELOW


def execution_table(
    lesson: Screenplay,
    records: Sequence[StepRecord],
    *,
    current: int | None = None,
    look: Look,
    compact: bool = False,
    width: int | None = None,
    title: str = "Execution table",
) -> Table:
    """The execution table.

    Wide: one column per field. Compact: the command and reply go under the action, beside the
    queue and the output. Stacked (a narrow terminal): one cell per step, everything under the
    action, so every line has the full width.
    """
    keys = frozenset(lesson.key_names)
    lanes = lane_styles(lesson)
    stacked = compact and is_stacked(width or 80)
    table = Table(title=title, title_justify="left", box=look.box, show_header=not stacked)
    number = len(str(len(lesson.steps))) + 1
    if stacked:
        table.add_column("#", no_wrap=True, width=number)
        table.add_column("Step", overflow="fold", ratio=1)
    elif compact:
        # The action column carries the commands and replies: it gets the most room. Widths are
        # explicit because Rich would otherwise starve it on a narrow screen.
        widths = value_widths(lesson, records)
        room = (width or 80) - 13 - number
        queue_width = min(widths["Queue State"], max(10, room // 5))
        output_width = min(widths["Output"], max(10, room // 4))
        table.add_column("#", no_wrap=True, width=number)
        table.add_column(
            "Action, command and reply", overflow="fold", width=room - queue_width - output_width
        )
        table.add_column("Queue", overflow="fold", width=queue_width)
        table.add_column("Output", overflow="fold", width=output_width)
    else:
        # Values keep their width where they can; Rich folds them (never cuts the table at the
        # right edge) when the whole table does not fit.
        widths = value_widths(lesson, records)
        for header in EXECUTION_HEADERS:
            table.add_column(
                header,
                overflow="fold",
                no_wrap=header == "Step",
                ratio=3 if header == "Action" else (None if header == "Step" else 2),
                min_width=min(widths.get(header) or 0, 12) or None,
            )
    arrow = "->" if look.plain else "→"
    for record in records:
        row = execution_row(record, keys)
        is_current = record.number == current
        step = f"{look.marker}{row.step}" if is_current else f" {row.step}"
        lane = lanes.get(record.actor, "")
        state_style = CHANGED if any(c.startswith("state:") for c in record.changed) else ""
        output_style = CHANGED if row.output != "None" else ""
        state = Text(row.state, style=state_style if is_current else "")
        output = Text(row.output, style=output_style if is_current else "")
        style = CURRENT if is_current else None
        if compact:
            action = Text(row.action, style=lane)
            if not row.lines:
                action.append(f"\n  {row.command}", style="dim")
            for line in row.lines:
                action.append(f"\n  {line.command}", style=lanes.get(line.client, ""))
                action.append(f" {arrow} {line.reply}")
            if stacked:
                action.append("\nQueue ", style="dim")
                action.append_text(state)
                if row.output != "None":
                    action.append("\nOutput ", style="dim")
                    action.append_text(output)
                table.add_row(step, action, style=style)
            else:
                table.add_row(step, action, state, output, style=style)
        else:
            table.add_row(
                step,
                Text(row.action, style=lane),
                _lane_lines(row, "command", lanes),
                _lane_lines(row, "reply", lanes),
                state,
                output,
                style=style,
            )
    return table


def _lane_lines(row: ExecutionRow, field: str, lanes: dict[str, str]) -> Text:
    """A command or reply cell, each line in the colour of the client it belongs to."""
    if not row.lines:
        return Text(getattr(row, field), style="dim")
    text = Text()
    for index, line in enumerate(row.lines):
        text.append(
            ("\n" if index else "") + getattr(line, field), style=lanes.get(line.client, "")
        )
    return text


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


MIN_ACTION = 18


def value_widths(lesson: Screenplay, records: Sequence[StepRecord]) -> dict[str, int]:
    keys = frozenset(lesson.key_names)
    rows = [execution_row(r, keys).cells() for r in records]
    widths = {}
    for index, header in enumerate(EXECUTION_HEADERS):
        if header != "Action":
            longest = max((_longest_line(row[index]) for row in rows), default=0)
            widths[header] = min(32, max(longest, len(header) if header != "Redis Command" else 5))
    return widths


def wide_layout_fits(lesson: Screenplay, records: Sequence[StepRecord], width: int) -> bool:
    """Kept for the screens that still ask: the layout now depends on the width alone."""
    return True


def tracker_table(
    start: StepRecord,
    records: Sequence[StepRecord],
    finished: bool,
    look: Look,
    compact: bool = False,
    latest: int | None = None,
) -> Table:
    """Variables as rows and moments as columns; compact turns it on its side."""
    data = tracker(start, records, finished, latest)
    table = Table(title="Variable tracker", title_justify="left", box=look.box)
    last = len(data.columns) - 1

    def cell(value: str, changed: bool, index: int) -> Text:
        return Text(value, style=CHANGED if changed and index == last and not finished else "")

    if compact:
        table.add_column("When", no_wrap=True)
        for name, _cells in data.rows:
            table.add_column(name, overflow="fold")
        for index, title in enumerate(data.columns):
            table.add_row(
                title.replace("After Step", "After"),
                *(
                    cell(cells[index], flags[index], index)
                    for (_name, cells), flags in zip(data.rows, data.changed, strict=True)
                ),
            )
        return table
    table.add_column("Variable", no_wrap=True)
    for title in data.columns:
        table.add_column(title, overflow="fold")
    for (name, cells), flags in zip(data.rows, data.changed, strict=True):
        table.add_row(name, *(cell(c, flags[i], i) for i, c in enumerate(cells)))
    return table


def moment_panel(
    lesson: Screenplay, step: int, look: Look, *, open_: bool = True
) -> RenderableType | None:
    """The step's key moment: the question and its answer, or folded to the question alone."""
    moment = lesson.moment_for(step)
    if moment is None:
        return None
    if not open_:
        bulb = "Key moment" if look.plain else "💡 Key moment"
        return Text.assemble((f"{bulb} (k): ", "dim"), (moment.question, "bold"))
    title = "Key moment" if look.plain else "💡 Key moment"
    body = Text.assemble((moment.question, "bold"), "\n", moment.answer.strip())
    return Panel(body, title=title, title_align="left", box=look.box, expand=False)


def tracker_line(start: StepRecord, records: Sequence[StepRecord], look: Look) -> Text:
    """The tracker folded to one line: every variable and watched key, now."""
    last = records[-1] if records else start
    values = {**dict(last.state), **dict(last.variables)}
    text = Text("Now: ", style="bold")
    dot = " | " if look.plain else " · "
    for index, (name, value) in enumerate(values.items()):
        if index:
            text.append(dot, style="dim")
        changed = f"state:{name}" in last.changed or f"var:{name}" in last.changed
        text.append(f"{name} = ")
        text.append(python_text(fold(value)), style=CHANGED if changed else "")
    return text


_CODE_PARTS = re.compile(r"(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<comment>#.*$)")


def code_line(code: str, look: Look) -> RenderableType:
    """The program line of the current step, as redis-py code: strings and comments picked out
    by a small pattern (a full highlighter would cost start-up time for one line)."""
    text = Text("Code: " if look.plain else "▸ ", style="bold cyan")
    at = 0
    for match in _CODE_PARTS.finditer(code):
        text.append(code[at : match.start()], style="bold")
        text.append(match.group(), style="green" if match.group("string") else "dim")
        at = match.end()
    text.append(code[at:], style="bold")
    return text


@dataclass(frozen=True)
class StepView:
    lesson: Screenplay
    start: StepRecord
    records: tuple[StepRecord, ...]  # the steps shown, 1..current
    total: int
    backend: str
    footer: str = ""
    # The execution table starts at this index of `records` when the screen is too short for all
    # of them (the tracker still covers every step).
    table_from: int = 0
    # The tracker shows Start and the latest moments; 0 folds it to one line ("Now: ...").
    tracker_latest: int | None = None
    moment_open: bool = True  # False: the key moment is folded to its question
    # A very short terminal: no title line, no tracker, no key moment line (k still opens it).
    tight: bool = False
    next_hint: str = ""  # after the last step: what to do next
    show_code: bool = True
    # The last step carries the lesson's closing (comparison, end note, what next). Interactive
    # screens show the closing on a page of its own after the last step instead.
    closing: bool = True

    @property
    def current(self) -> int:
        return self.records[-1].number if self.records else 0

    @property
    def finished(self) -> bool:
        return self.current == self.total


def comparison_table(lesson: Lesson, records: Sequence[StepRecord], look: Look) -> Table:
    """The comparison of the lesson's transports, computed from the run's records."""
    from redisqueue_tutor.run.comparison import QUESTIONS, compare_transports

    streams = [s.key for s in lesson.state if s.type == "stream"]
    verdicts = compare_transports(lesson.compare, lesson.channels, streams, records)
    table = Table(title="Comparison, from this run", title_justify="left", box=look.box)
    table.add_column("")
    for verdict in verdicts:
        table.add_column(f"{verdict.transport} ({verdict.kind})", overflow="fold")
    for question in lesson.compare_on:
        table.add_row(QUESTIONS[question], *(v.answers[question] for v in verdicts))
    return table


class StepScreen:
    """One step's screen; the layout (wide or compact) comes from the width it is given."""

    def __init__(self, view: StepView, look: Look) -> None:
        self.view = view
        self.look = look

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view, look = self.view, self.look
        compact = is_compact(options.max_width)
        lesson = view.lesson
        dot = "-" if look.plain else "·"
        if not view.tight:
            yield Text(lesson.title, style="bold")
        yield Text.assemble(
            (f"Step {view.current} of {view.total}", "bold cyan"),
            (f"  {dot}  {view.backend}", "dim"),
            no_wrap=True,
            overflow="ellipsis",
        )
        code = lesson.code_for(view.current) if view.show_code and view.current else None
        if code:
            yield code_line(code, look)
        title = "Execution table"
        if view.table_from:
            hidden = view.records[view.table_from - 1].number
            above = "step 1 is" if hidden == 1 else f"steps 1-{hidden} are"
            title = f"Execution table ({above} above: b goes back)"
        yield execution_table(
            lesson,
            view.records[view.table_from :],
            current=view.current,
            look=look,
            compact=compact,
            width=options.max_width,
            title=title,
        )
        if view.tight:
            pass
        elif view.start.state or view.start.variables:  # a trace of pub/sub alone has no rows
            if view.tracker_latest == 0:
                yield tracker_line(view.start, view.records, look)
            else:
                yield tracker_table(
                    view.start,
                    view.records,
                    view.finished,
                    look,
                    compact=compact,
                    latest=view.tracker_latest,
                )
        panel = (
            None if view.tight else moment_panel(lesson, view.current, look, open_=view.moment_open)
        )
        if panel is not None:
            yield panel
        if view.finished and view.closing:
            yield from closing_parts(lesson, view.records, look, view.next_hint)
        if view.footer:
            yield Text(view.footer, style="dim")


def closing_parts(
    lesson: Screenplay, records: Sequence[StepRecord], look: Look, next_hint: str
) -> list[RenderableType]:
    """How a lesson ends: its comparison (computed from the run), end note and what comes next."""
    parts: list[RenderableType] = []
    if lesson.compare:  # only lessons compare transports
        parts.append(comparison_table(cast("Lesson", lesson), records, look))
    if lesson.end_note:
        parts.append(Text(("" if look.plain else "✔ ") + lesson.end_note, style="green"))
    if next_hint:
        parts.append(Text(next_hint, style="bold"))
    return parts


def end_page(
    lesson: Screenplay, records: Sequence[StepRecord], look: Look, next_hint: str
) -> Group:
    title = Text.assemble((lesson.title, "bold"), "\n", ("The end of the lesson", "bold cyan"))
    return Group(title, *closing_parts(lesson, records, look, next_hint))


def step_screen(view: StepView, look: Look) -> RenderableType:
    return StepScreen(view, look)


def too_small(width: int, height: int, need: tuple[int, int], look: Look) -> Text:
    """Instead of a broken screen: how big the terminal must be."""
    times = "x" if look.plain else "×"
    return Text(
        f"Make the terminal at least {need[0]}{times}{need[1]} "
        f"(it is {width}{times}{height}); q quits.",
        style="bold yellow",
    )


def opening_card(lesson: Lesson, look: Look, console: Console | None = None) -> RenderableType:
    """The title card a lesson opens on (also a title slide for a class): what it teaches and
    its flow, without the key moments' answers. Parts give way, least needed first, when the
    terminal is short."""
    arrow = "->" if look.plain else "→"
    flow = Text()
    for index, stage in enumerate(lesson.concept.flow):
        flow.append(f"\n  {arrow} " if index else "  ", style="dim")
        flow.append(stage)
    clients = ", ".join(c.name + (f" ({c.role})" if c.role else "") for c in lesson.clients)
    parts: list[RenderableType] = [
        Text.assemble((lesson.title, "bold"), "  ", (f"[{lesson.level}]", "dim")),
        Text(lesson.summary.strip()),
        Text("Flow", style="bold cyan"),
        flow,
        Text(f"Clients: {clients}", style="dim"),
        Text(f"{len(lesson.steps)} steps, each run for real.", style="dim"),
    ]
    card = Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
    if console is None:
        return card
    height = console.size.height - 2  # the footer, and the line the cursor sits on
    for drop in (5, 4, 1):  # the step count, the clients, then the summary
        if len(console.render_lines(card, console.options, pad=False)) <= height:
            break
        parts.pop(drop)
        card = Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
    return card


def concept_card(lesson: Lesson, look: Look) -> RenderableType:
    arrow = "->" if look.plain else "→"
    flow = Text()
    for index, stage in enumerate(lesson.concept.flow):
        if index:
            flow.append(f"\n  {arrow} ", style="dim")
        else:
            flow.append("  ")
        flow.append(stage)
    parts: list[RenderableType] = [
        Text.assemble((lesson.title, "bold"), "  ", (f"[{lesson.level}]", "dim")),
        Text(lesson.summary.strip()),
        Text("Flow", style="bold cyan"),
        flow,
        Text("Concept", style="bold cyan"),
        Text(lesson.concept.text.strip()),
    ]
    if lesson.concept.snapshot:
        parts.append(Text("In short", style="bold cyan"))
        parts.append(Text("\n".join(f"{look.bullet()} {s}" for s in lesson.concept.snapshot)))
    if lesson.moments:
        parts.append(Text("Key moments", style="bold cyan"))
        for moment in lesson.moments:
            steps = f"{noun(len(moment.steps), 'step')} {joined(moment.steps)}"
            parts.append(
                Text.assemble(
                    (f"{moment.question}", "bold"),
                    (f"  ({steps})", "dim"),
                    "\n",
                    moment.answer.strip(),
                )
            )
    clients = ", ".join(c.name + (f" ({c.role})" if c.role else "") for c in lesson.clients)
    parts.append(Text(f"Clients: {clients}", style="dim"))
    parts.append(Text(f"Run it: tutor step {lesson.id}", style="dim"))
    return Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
