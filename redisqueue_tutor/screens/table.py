"""The execution table and the variable tracker, dressed with Rich from the plain cells of
run/tables.py. Each client of a scenario gets its own colour (its lane), so a table with many
clients stays readable; the layout (wide, compact, stacked) comes from the width alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.table import Table
from rich.text import Text

from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.run.tables import EXECUTION_HEADERS, ExecutionRow, execution_row, tracker
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.wording import printable


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
    cell_chars: int | None = None,
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
            action = _action_cell(row, lane, lanes, arrow)
            if cell_chars is not None:
                action, state, output = (_clipped(t, cell_chars) for t in (action, state, output))
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


def _action_cell(row: ExecutionRow, lane: str, lanes: dict[str, str], arrow: str) -> Text:
    """The compact table's first cell: the action, then each command and its reply."""
    action = Text(row.action, style=lane)
    if not row.lines:
        action.append(f"\n  {row.command}", style="dim")
    for line in row.lines:
        action.append(f"\n  {line.command}", style=lanes.get(line.client, ""))
        action.append(f" {arrow} {line.reply}")
        if line.note:
            action.append(f"\n    {line.note}", style="italic dim")
    if row.quiet:
        action.append(f"\n  {quiet_line(row.quiet)}", style="dim")
    return action


def quiet_line(count: int) -> str:
    """What a scenario step left out of its row."""
    return f"(+ {count} quiet command{'s' if count != 1 else ''} left out)"


def _clipped(text: Text, limit: int) -> Text:
    """At most `limit` characters of a cell, and a note of what is left out."""
    if len(text.plain) <= limit:
        return text
    cut = text[:limit]
    cut.append(f" (… {len(text.plain) - limit:,} more characters)", style="dim")
    return cut


def _lane_lines(row: ExecutionRow, field: str, lanes: dict[str, str]) -> Text:
    """A command or reply cell, each line in the colour of the client it belongs to."""
    if not row.lines:
        return Text(getattr(row, field), style="dim")
    text = Text()
    for index, line in enumerate(row.lines):
        text.append(
            ("\n" if index else "") + getattr(line, field), style=lanes.get(line.client, "")
        )
        if line.note:  # under the command; the reply's column keeps its lines beside theirs
            text.append(f"\n  {line.note}" if field == "command" else "\n", style="italic dim")
    if row.quiet and field == "command":
        text.append(f"\n{quiet_line(row.quiet)}", style="dim")
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


def tracker_table(
    start: StepRecord,
    records: Sequence[StepRecord],
    finished: bool,
    look: Look,
    *,
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
            table.add_column(Text(printable(name)), overflow="fold")
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
        table.add_row(Text(printable(name)), *(cell(c, flags[i], i) for i, c in enumerate(cells)))
    return table
