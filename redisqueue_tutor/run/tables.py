"""The cells of the execution table and the variable tracker, as plain text, from step records.

Pure functions: the renderer dresses these cells with Rich, the checker and the tests read them as
they are. Nothing here is typed by hand; every cell is a record's value in text form. A long value
is folded to its beginning and its size (records.fold): a traced program that stores 10 MB shows
`'xxxx…' (10 MB)`, and its run file keeps the whole value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from redisqueue_tutor.run.passwords import masked_command
from redisqueue_tutor.run.records import (
    CommandRecord,
    StepRecord,
    command_text,
    fold,
    fold_text,
    python_text,
    reply_text,
    shown_text,
    state_text,
)

EXECUTION_HEADERS = ("Step", "Action", "Redis Command", "Reply", "Queue State", "Output")
NO_COMMAND = "N/A"
WAITING = "(blocked: waiting)"


@dataclass(frozen=True)
class CommandLine:
    """One command of a row (or one message pushed to a subscriber) and its reply, as text."""

    client: str
    command: str
    reply: str
    note: str = ""  # what the framework is doing (a scenario lesson's phrase)


@dataclass(frozen=True)
class ExecutionRow:
    step: str
    action: str
    command: str
    reply: str
    state: str
    output: str
    lines: tuple[CommandLine, ...] = ()
    quiet: int = 0  # commands a scenario step left out of the row

    @property
    def clients(self) -> tuple[str, ...]:
        return tuple(line.client for line in self.lines)

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (self.step, self.action, self.command, self.reply, self.state, self.output)


def reply_cell(command: CommandRecord, *, folded: bool = True) -> str:
    """The Reply cell of one command: Redis's answer (a long one folded, unless `folded` is
    False), or that it is still waiting."""
    if command.waiting:
        return WAITING
    if not folded:
        return reply_text(command.reply, command.error)
    return reply_text(fold(command.reply), fold_text(command.error) if command.error else None)


def step_reply(record: StepRecord, *, lesson_only: bool = False) -> str:
    """What Redis answered the step's own command(s): not what listeners received meanwhile.

    `lesson_only` (what `tutor check` compares with a lesson's claims): a PUBLISH's count without
    the receivers outside the run (another client of a shared server), which no lesson can know.
    """
    own = [c for c in record.commands if c.client == record.actor and c.args]
    if lesson_only and record.outside:
        own = [
            replace(c, reply=c.reply - record.outside)
            if c.name == "PUBLISH" and isinstance(c.reply, int)
            else c
            for c in own
        ]
    return "\n".join(reply_cell(c, folded=not lesson_only) for c in own)


def command_lines(record: StepRecord, keys: frozenset[str]) -> tuple[CommandLine, ...]:
    """The row's commands; each names its client when more than the acting client took part."""
    several = any(c.client != record.actor for c in record.commands)
    lines = []
    notes = record.notes
    for index, command in enumerate(record.commands):
        if not command.args:  # a message Redis pushed to a subscriber: no command was sent
            text = shown_text(command)
        else:
            # A password (AUTH, HELLO ... AUTH) is never shown, whoever sent it (passwords.py).
            text = command_text(tuple(fold(a) for a in masked_command(command.args)), keys)
            if several:
                text = f"{command.client}: {text}"
        note = notes[index] if index < len(notes) else ""
        lines.append(CommandLine(command.client, text, reply_cell(command), note))
    return tuple(lines)


def execution_row(record: StepRecord, keys: frozenset[str]) -> ExecutionRow:
    lines = command_lines(record, keys)
    if lines:
        command = "\n".join(line.command for line in lines)
        reply = "\n".join(line.reply for line in lines)
    else:
        command, reply = NO_COMMAND, ""
    action = fold_text(record.action)
    if record.outside:
        who = "receiver" if record.outside == 1 else "receivers"
        action += (
            f"\n(Redis also counted {record.outside} {who} outside this lesson:"
            " another client of this server)"
        )
    return ExecutionRow(
        step=str(record.number),
        action=action,
        command=command,
        reply=reply,
        state=state_text(tuple((k, fold(v)) for k, v in record.state)),
        output=fold_text(record.output),
        lines=lines,
        quiet=len(record.hidden) + len(record.undescribed),
    )


@dataclass(frozen=True)
class Tracker:
    """Variables (and watched keys) as rows; Start, each step that changed one, Final as columns."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    changed: tuple[tuple[bool, ...], ...]


def tracker(
    start: StepRecord, records: Sequence[StepRecord], finished: bool, latest: int | None = None
) -> Tracker:
    """The tracker; with `latest`, only Start and the last `latest` moments (a short screen)."""
    changing = [r for r in records if r.changed]
    columns: list[tuple[str, StepRecord]] = [("Start", start)]
    columns.extend((f"After Step {record.number}", record) for record in changing)
    if finished and records:
        last = records[-1]
        if columns[-1][1] is last:
            columns.pop()
        columns.append(("Final", last))
    if latest is not None and len(columns) > latest + 1:
        columns = [columns[0], *columns[len(columns) - latest :]]
    names = [k for k, _ in start.state] + [k for k, _ in start.variables]
    rows = []
    changed_rows = []
    for name in names:
        cells = []
        flags = []
        for _title, record in columns:
            values = {**record.state_map, **record.variable_map}
            cells.append(python_text(fold(values[name])))
            flags.append(f"state:{name}" in record.changed or f"var:{name}" in record.changed)
        rows.append((name, tuple(cells)))
        changed_rows.append(tuple(flags))
    return Tracker(tuple(t for t, _ in columns), tuple(rows), tuple(changed_rows))
