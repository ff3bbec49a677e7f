"""Golden text for what people read: both lessons rendered at fixed widths, without colour.

Regenerate after a deliberate change with `UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review
the diff like code.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.step import StepView, concept_card, step_screen
from tests.conftest import golden


def rendered(renderable, width: int) -> str:
    console = Console(
        file=io.StringIO(), width=width, color_system=None, record=True, highlight=False
    )
    console.print(renderable)
    return console.export_text()


CASES = [
    # (lesson, steps shown, width, plain)
    ("queue", 7, 120, False),
    ("queue", 3, 120, False),
    ("queue", 7, 60, True),
    ("queue-rpush", 8, 120, False),
    ("queue-rpush", 8, 60, True),
    ("pubsub", 9, 120, False),
    ("pubsub", 3, 60, True),
    ("pubsub-vs-queue", 12, 120, False),
    ("blocking", 5, 120, False),
    ("blocking", 3, 60, True),
    ("reliable-queue", 12, 120, False),
    ("streams", 15, 120, False),
    ("compare", 21, 140, False),
]


@pytest.mark.parametrize(("lesson_id", "shown", "width", "plain"), CASES)
def test_step_screen_golden(lesson_id, shown, width, plain, backend_spec):
    lesson = find_lesson(lesson_id)
    with running(backend_spec) as backend:
        start, records = run_lesson(lesson, backend)
    view = StepView(lesson, start, tuple(records[:shown]), len(records), "BACKEND")
    text = rendered(step_screen(view, Look(plain)), width)
    suffix = "-plain" if plain else ""
    golden(f"{lesson_id}-step{shown}-w{width}{suffix}.txt", text)


@pytest.mark.parametrize(
    "lesson_id",
    ["queue", "queue-rpush", "pubsub", "pubsub-vs-queue", "blocking", "reliable-queue", "streams"],
)
def test_concept_card_golden(lesson_id):
    golden(f"{lesson_id}-card.txt", rendered(concept_card(find_lesson(lesson_id), Look(False)), 80))


@pytest.mark.parametrize("lesson_id", ["celery", "rq", "channels", "on-commit", "frameworks"])
def test_framework_concept_card_golden(lesson_id):
    golden(f"{lesson_id}-card.txt", rendered(concept_card(find_lesson(lesson_id), Look(False)), 80))


# A framework lesson's step, as it reads at 120 columns: what changes from run to run (a task's id,
# a time) written as <id> and <time> in the records before they are drawn, so that every line
# wraps where it did; how many idle polls happened meanwhile, as N.
FRAMEWORK_CASES = [("celery", 3), ("rq", 10), ("channels", 7)]
_VARYING = [
    (re.compile(r"\b1[0-9]{12}-[0-9]+\b|\b1[0-9]{9}(\.[0-9]+)?\b"), "<time>"),
    (re.compile(r"\b20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}…"), "<id>…"),
]


def steady(value):
    """A value with its ids and times written as <id> and <time>, of the same kind."""
    from redisqueue_tutor.run.records import DictValue, ListValue, SetValue, Summary

    if isinstance(value, float) and value > 1e9:
        return "<time>"
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return steady(text) if steady(text) != text else value
    if isinstance(value, str):
        text = str.__str__(value)
        for pattern, word in _VARYING:
            text = pattern.sub(word, text)
        return Summary(text, value.whole) if isinstance(value, Summary) else text
    if type(value) in (ListValue, DictValue, SetValue, tuple):
        return type(value)(steady(item) for item in value)
    return value


def steady_record(record):
    from dataclasses import replace

    commands = tuple(
        replace(c, args=tuple(steady(a) for a in c.args), reply=steady(c.reply))
        for c in record.commands
    )
    state = tuple((name, steady(value)) for name, value in record.state)
    return replace(record, commands=commands, state=state, hidden=(), undescribed=())


@pytest.mark.parametrize(("lesson_id", "shown"), FRAMEWORK_CASES)
def test_framework_step_golden(lesson_id, shown, backend_spec):
    from redisqueue_tutor.modes.scenario import run_whole

    lesson = find_lesson(lesson_id)
    with running(backend_spec) as backend:
        start, records = run_whole(lesson, backend)
    steadied = tuple(steady_record(r) for r in records[:shown])
    view = StepView(
        lesson, steady_record(start), steadied, len(records), "BACKEND", table_from=shown - 1
    )
    golden(f"{lesson_id}-step{shown}-w120.txt", rendered(step_screen(view, Look(False)), 120))


def test_frameworks_comparison_golden(backend_spec):
    """The frameworks lesson's closing comparison, answered from a run: a table at 120 columns,
    one block per framework at 80."""
    from redisqueue_tutor.modes.scenario import run_whole
    from redisqueue_tutor.screens.step import FrameworkComparison

    lesson = find_lesson("frameworks")
    with running(backend_spec) as backend:
        _start, records = run_whole(lesson, backend)
    steadied = [steady_record(r) for r in records]
    for width in (80, 120):
        text = rendered(FrameworkComparison(lesson, steadied, Look(False)), width)
        golden(f"frameworks-comparison-w{width}.txt", text)
