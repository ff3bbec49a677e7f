"""The first seed's execution table and variable tracker must come out of the real run, cell for cell."""

from __future__ import annotations

from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.tables import execution_row, tracker

# Transcribed from the seed document (Step, Action, Redis Command, Queue State, Output).
SEED_TABLE = [
    ("1", "Producer pushes 'task1'", "LPUSH queue 'task1'", "['task1']", "None"),
    ("2", "Producer pushes 'task2'", "LPUSH queue 'task2'", "['task2', 'task1']", "None"),
    ("3", "Consumer pops a task", "RPOP queue", "['task2']", "'task1'"),
    ("4", "Consumer processes 'task1'", "N/A", "['task2']", "Processed 'task1'"),
    ("5", "Consumer pops next task", "RPOP queue", "[]", "'task2'"),
    ("6", "Consumer processes 'task2'", "N/A", "[]", "Processed 'task2'"),
    ("7", "Consumer tries to pop from empty queue", "RPOP queue", "[]", "None"),
]
SEED_TRACKER_COLUMNS = (
    "Start",
    "After Step 1",
    "After Step 2",
    "After Step 3",
    "After Step 5",
    "Final",
)
SEED_TRACKER_ROWS = (
    ("queue", ("[]", "['task1']", "['task2', 'task1']", "['task2']", "[]", "[]")),
    ("task", ("None", "None", "None", "'task1'", "'task2'", "None")),
)
# Redis's own replies, which the seed does not show but the tutor does.
REPLIES = ["(integer) 1", "(integer) 2", '"task1"', "", '"task2"', "", "(nil)"]


def test_queue_lesson_reproduces_the_seed(backend_spec):
    lesson = find_lesson("queue")
    with running(backend_spec) as backend:
        start, records = run_lesson(lesson, backend)
    rows = [execution_row(r, frozenset(lesson.key_names)) for r in records]
    assert [(r.step, r.action, r.command, r.state, r.output) for r in rows] == SEED_TABLE
    assert [r.reply for r in rows] == REPLIES
    table = tracker(start, records, finished=True)
    assert table.columns == SEED_TRACKER_COLUMNS
    assert table.rows == SEED_TRACKER_ROWS


def test_tracker_so_far_names_the_current_step_not_final():
    lesson = find_lesson("queue")
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    table = tracker(start, records[:3], finished=False)
    assert table.columns == ("Start", "After Step 1", "After Step 2", "After Step 3")
    assert table.rows[1] == ("task", ("None", "None", "None", "'task1'"))


def test_rpush_lesson_keeps_arrival_order_and_shows_the_stack_mistake(backend_spec):
    lesson = find_lesson("queue-rpush")
    with running(backend_spec) as backend:
        _start, records = run_lesson(lesson, backend)
    keys = frozenset(lesson.key_names)
    rows = [execution_row(r, keys) for r in records]
    assert rows[1].state == "['task1', 'task2']"  # the seed's third quiz answer
    assert rows[2].output == "'task1'"
    assert rows[5].command == "RPOP queue" and rows[5].output == "'task3'"
    assert rows[-1].reply == "(nil)"
