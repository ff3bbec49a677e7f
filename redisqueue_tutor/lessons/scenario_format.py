"""A scenario lesson's own tables: the program it runs and what the framework says (`[scenario]`).

A scenario lesson's steps are not commands it sends: its program (a Django project's view, the
Celery or RQ worker it starts) runs under `tutor trace`, and each step is the run's commands cut
where its `until` matches (lessons/scenario.py).
"""

from __future__ import annotations

from typing import Annotated

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
