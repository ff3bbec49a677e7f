"""Golden text for what people read: both lessons rendered at fixed widths, without colour.

Regenerate after a deliberate change with `UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review
the diff like code.
"""

from __future__ import annotations

import io

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
