"""The cells of the execution table and the variable tracker, as plain text, from step records.

Pure functions: the renderer dresses these cells with Rich, the checker and the tests read them as
they are. Nothing here is typed by hand; every cell is a record's value in text form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redisqueue_tutor.records import (
    CommandRecord,
    StepRecord,
    command_text,
    python_text,
    reply_text,
    state_text,
)

EXECUTION_HEADERS = ("Step", "Action", "Redis Command", "Reply", "Queue State", "Output")
NO_COMMAND = "N/A"


@dataclass(frozen=True)
class ExecutionRow:
    step: str
    action: str
    command: str
    reply: str
    state: str
    output: str
    clients: tuple[str, ...] = ()

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (self.step, self.action, self.command, self.reply, self.state, self.output)


def commands_cell(commands: Sequence[CommandRecord], keys: frozenset[str]) -> tuple[str, str]:
    if not commands:
        return NO_COMMAND, ""
    names = "\n".join(command_text(c.args, keys) for c in commands)
    replies = "\n".join(reply_text(c.reply, c.error) for c in commands)
    return names, replies


def execution_row(record: StepRecord, keys: frozenset[str]) -> ExecutionRow:
    command, reply = commands_cell(record.commands, keys)
    return ExecutionRow(
        step=str(record.number),
        action=record.action,
        command=command,
        reply=reply,
        state=state_text(record.state),
        output=record.output,
        clients=tuple(c.client for c in record.commands),
    )


@dataclass(frozen=True)
class Tracker:
    """Variables (and watched keys) as rows; Start, each step that changed one, Final as columns."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    changed: tuple[tuple[bool, ...], ...]


def tracker(start: StepRecord, records: Sequence[StepRecord], finished: bool) -> Tracker:
    changing = [r for r in records if r.changed]
    columns: list[tuple[str, StepRecord]] = [("Start", start)]
    for record in changing:
        columns.append((f"After Step {record.number}", record))
    if finished and records:
        last = records[-1]
        if columns[-1][1] is last:
            columns.pop()
        columns.append(("Final", last))
    names = [k for k, _ in start.state] + [k for k, _ in start.variables]
    rows = []
    changed_rows = []
    for name in names:
        cells = []
        flags = []
        for _title, record in columns:
            values = {**record.state_map, **record.variable_map}
            cells.append(python_text(values[name]))
            flags.append(f"state:{name}" in record.changed or f"var:{name}" in record.changed)
        rows.append((name, tuple(cells)))
        changed_rows.append(tuple(flags))
    return Tracker(tuple(t for t, _ in columns), tuple(rows), tuple(changed_rows))
