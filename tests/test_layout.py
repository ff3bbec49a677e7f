"""At one width a lesson keeps one layout from its first step to its last, and no table runs past
the right edge, at any width from 60 to 140 columns."""

from __future__ import annotations

import io

import pytest

from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Look, make_console
from redisqueue_tutor.screens.step import StepView, step_screen

WIDTHS = (60, 75, 76, 80, 109, 110, 140)


def layout(text: str) -> str:
    if "Redis Command" in text:
        return "wide"
    if "Action, command and reply" in text:
        return "compact"
    return "stacked"


@pytest.mark.parametrize("lesson_id", sorted(discover()))
def test_one_layout_per_width_and_nothing_past_the_right_edge(lesson_id):
    lesson = find_lesson(lesson_id)
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    for width in WIDTHS:
        seen = set()
        for shown in range(1, len(records) + 1):
            console = make_console(io.StringIO(), width=width, record=True)
            view = StepView(lesson, start, tuple(records[:shown]), len(records), "fake")
            console.print(step_screen(view, Look(False)))
            text = console.export_text()
            assert max(len(line) for line in text.splitlines()) <= width, (lesson_id, width, shown)
            table = text[text.index("Execution table") :]
            seen.add(layout(table))
        assert len(seen) == 1, (lesson_id, width, seen)
