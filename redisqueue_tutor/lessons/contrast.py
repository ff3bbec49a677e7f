"""A scenario lesson's comparison (`[scenario.comparison]`: Celery, RQ and a bare list side by
side), answered from its run. Each cell is what the step named for its column sent (the commands
the row's globs pick) or what the keys named for it held after that step: the lesson names the
question and where to look, the run gives the answer, so no cell can claim what the run did not do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.scenario import shown_matches
from redisqueue_tutor.lessons.scenario_format import Question
from redisqueue_tutor.run.records import CommandRecord, StepRecord, command_text, python_text
from redisqueue_tutor.wording import counted

NO_COMMAND = "no command"
SHOWN_ARGS = 2  # a command in a cell: its name and first arguments (the key, a TTL, a payload)


@dataclass(frozen=True)
class Answered:
    """One row of the comparison: its question and each column's answer from the run."""

    ask: str
    cells: tuple[str, ...]


def compared(lesson: Lesson, records: Sequence[StepRecord]) -> tuple[Answered, ...]:
    """The lesson's comparison answered from the records of its run (a step not yet run: "")."""
    assert lesson.scenario is not None and lesson.scenario.comparison is not None
    by_number = {record.number: record for record in records}
    rows = []
    for row in lesson.scenario.comparison.rows:
        cells = []
        for column, number in enumerate(row.steps):
            record = by_number.get(number)
            if record is None:
                cells.append("")
            elif row.keys:
                cells.append(_held(record, row.keys[column]))
            else:
                cells.append(_sent(record, row))
        rows.append(Answered(row.ask, tuple(cells)))
    return tuple(rows)


def _sent(record: StepRecord, row: Question) -> str:
    picked = [
        c
        for c in record.commands
        if not row.match or any(shown_matches(c, pattern) for pattern in row.match)
    ]
    shown = list(dict.fromkeys(_short(c) for c in picked))  # each shape once
    return " + ".join(shown) or NO_COMMAND


def _short(command: CommandRecord) -> str:
    """A command by its name and first arguments: SETEX celery-task-meta-<id>… 86400 …; one of
    more than two keys by its first (kombu's BRPOP of a queue and its priority queues), as
    Redis's key specifications tell them."""
    from redisqueue_tutor.keyspace.specs import UnknownKeys, key_positions, split_words

    try:
        many = len(key_positions(split_words(command.args))) > SHOWN_ARGS
    except UnknownKeys:
        many = False
    shown = 1 + (1 if many else SHOWN_ARGS)
    more = " …" if len(command.args) > shown else ""
    return command_text(command.args[:shown]) + more


def _held(record: StepRecord, keys: Sequence[str]) -> str:
    state = record.state_map
    parts = []
    for key in keys:
        value = state.get(key)
        if not value:
            told = "empty"
        elif isinstance(value, str | bytes):  # a string key: its value
            told = python_text(value)
        else:
            told = counted(len(value), "item")
        parts.append(f"{key}: {told}")
    return ", ".join(parts)
