"""A scenario lesson's own tables: the program it runs and what the framework says (`[scenario]`).

A scenario lesson's steps are not commands it sends: its program (a Django project's view, the
Celery or RQ worker it starts) runs under `tutor trace`, and each step is the run's commands cut
where its `until` matches (lessons/scenario.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Cell = Annotated[str, Field(min_length=1, max_length=1_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phrase(_Strict):
    """What a framework is doing when it sends a command (a scenario lesson's data), matched to
    the commands the run really produced: a glob over the command as shown."""

    match: Cell
    says: Cell
    client: Identifier | None = None  # only this lane's commands
    steps: list[Annotated[int, Field(ge=1)]] = []  # only at these steps (a restore's HDEL)


class Question(_Strict):
    """One question of a scenario's comparison, answered in each column from the run: by the
    commands of the step named for that column (those the globs `match` pick, or every one its
    row shows), or by what the keys named for that column held after it."""

    ask: Annotated[str, Field(min_length=1, max_length=40)]
    steps: list[Annotated[int, Field(ge=1)]]  # one per column
    match: list[Cell] = []
    keys: list[list[Cell]] = []  # one list per column: these watched keys instead of commands


class Comparison(_Strict):
    """The frameworks (or ways) a scenario lesson runs side by side, compared at its end."""

    columns: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=30)]], Field(min_length=2, max_length=4)
    ]
    rows: Annotated[list[Question], Field(min_length=1)]


class Scenario(_Strict):
    """A lesson whose commands come from a program run under `tutor trace` (a Django project,
    its Celery or RQ workers): its steps are the run's commands, cut where each step's `until`
    matches."""

    program: Cell  # relative to the lesson file's folder
    timeout: Annotated[float, Field(gt=0, le=300)] = 90.0
    # Commands left out of the table (a worker's idle polls, kombu's housekeeping): globs over
    # the command and its reply ("BRPOP * -> (nil)"); the step says how many, x shows them.
    quiet: list[Cell] = []
    phrases: list[Phrase] = []
    comparison: Comparison | None = None


def scenario_problems(lesson: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Why a scenario lesson is malformed (field, message), first first: its steps are cut from
    its program's run, so each names its actor and where it ends, and sends nothing of its own;
    its clients stand for the run's, and nothing holds variables."""
    clients = [c.name for c in lesson.clients]
    for index, client in enumerate(lesson.clients):
        if not client.match:
            yield (
                ("clients", index, "match"),
                "a scenario lesson's client needs match: the run's clients it stands for",
            )
    if lesson.variables:
        yield (("variables",), "a scenario lesson has no variables: its program holds its own")
    for index, client in enumerate(lesson.clients):
        if client.listens:
            yield (
                ("clients", index, "on_message" if client.on_message else "collect"),
                "a scenario lesson's client does not listen: its program's clients do",
            )
    for index, question in enumerate(lesson.questions):
        if question.answer_from is not None and question.answer_from.what_if:
            yield (
                ("questions", index, "answer_from"),
                "what_if swaps a lesson's own commands; a scenario lesson has none",
            )
    yield from _step_problems(lesson, clients)
    yield from _comparison_problems(lesson)
    for index, phrase in enumerate(lesson.scenario.phrases):
        if phrase.client is not None and phrase.client not in clients:
            yield (
                ("scenario", "phrases", index, "client"),
                f"{phrase.client!r} is not a client of this lesson",
            )


def _step_problems(lesson: Any, clients: list[str]) -> Iterator[tuple[tuple[Any, ...], str]]:
    own = ("command", "assign", "output", "background", "join", "crash", "repeat")
    for index, step in enumerate(lesson.steps):
        if step.actor not in clients:
            yield (
                ("steps", index, "actor"),
                f"{step.actor!r} is not a client of this lesson ({', '.join(clients)})",
            )
        if step.until is None:
            yield (
                ("steps", index, "until"),
                "a scenario lesson's step needs until: the command that ends it",
            )
        if step.expect is not None and step.expect.variables:
            yield (("steps", index, "expect"), "a scenario lesson has no variables to claim")
        for name in own:
            if name in step.model_fields_set:
                yield (
                    ("steps", index, name),
                    f"a scenario lesson's step has no {name}: its program sends the commands",
                )


def _comparison_problems(lesson: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    comparison = lesson.scenario.comparison
    if comparison is None:
        return
    watched = {state.key for state in lesson.state}
    columns = len(comparison.columns)
    for index, row in enumerate(comparison.rows):
        where = ("scenario", "comparison", "rows", index)
        if len(row.steps) != columns:
            yield (*where, "steps"), f"one step per column: {columns}, not {len(row.steps)}"
        for step in row.steps:
            if step > len(lesson.steps):
                yield (*where, "steps"), f"step {step}: the lesson has {len(lesson.steps)}"
        if row.keys and row.match:
            yield (*where, "keys"), "a row answers with keys or with commands (match), not both"
        if row.keys and len(row.keys) != columns:
            yield (*where, "keys"), f"one list of keys per column: {columns}, not {len(row.keys)}"
        if any(not keys for keys in row.keys):
            yield (*where, "keys"), "each column's list names at least one key"
        for key in {key for keys in row.keys for key in keys} - watched:
            yield (*where, "keys"), f"{key!r} is not a watched key ([[state]]) of this lesson"
