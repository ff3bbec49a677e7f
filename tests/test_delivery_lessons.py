"""The delivery-guarantee lessons on both backends: blocking, reliable queues, streams, compare."""

from __future__ import annotations

import threading
import time

import pytest

from redisqueue_tutor.lessons import LessonError, find_lesson, parse_lesson
from redisqueue_tutor.lessons.engine import LessonRun, run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.comparison import compare_transports
from redisqueue_tutor.run.records import python_text
from redisqueue_tutor.run.tables import execution_row, step_reply
from tests.conftest import ROOT


def run(lesson_id: str, backend_spec: str):
    lesson = find_lesson(lesson_id)
    with running(backend_spec) as backend:
        start, records = run_lesson(lesson, backend)
    return lesson, start, records


def test_blocking_lesson_polls_blocks_wakes_and_times_out(backend_spec):
    lesson, _start, records = run("blocking", backend_spec)
    polls = records[0].commands
    assert [(c.name, c.reply) for c in polls] == [("RPOP", None)] * 3  # three round trips
    waiting = records[1].commands
    assert len(waiting) == 1 and waiting[0].waiting and waiting[0].args == ("BRPOP", "queue", "0")
    assert step_reply(records[1]) == "(blocked: waiting)"
    woken = records[2].commands
    assert [(c.client, c.args) for c in woken] == [
        ("producer", ("LPUSH", "queue", "task1")),
        ("consumer", ("BRPOP", "queue", "0")),
    ]
    assert woken[1].reply == ("queue", "task1")
    # What the program holds is redis-py's tuple, and the tracker writes it as repr does.
    task = records[2].variable_map["task"]
    assert type(task) is tuple and python_text(task) == "('queue', 'task1')"
    assert records[2].state_map["queue"] == ()  # handed straight to the waiting consumer
    assert records[3].output == "Processed 'task1'"
    timed_out = records[4].commands
    assert [(c.args, c.reply, c.waiting) for c in timed_out] == [
        (("BRPOP", "queue", "1"), None, False)
    ]
    assert records[4].variable_map["task"] is None
    assert not [t for t in threading.enumerate() if t.name == "tutor-background"]


def test_a_learner_who_lingers_on_the_blocked_step_sees_the_same_story(backend_spec):
    """The blocked BRPOP has no timeout to run out while a person reads the screen."""
    lesson = find_lesson("blocking")
    with running(backend_spec) as backend:
        _start, quick = run_lesson(lesson, backend)
    with running(backend_spec) as backend, LessonRun(lesson, backend) as slow:
        lingered = [slow.next_step(), slow.next_step()]
        time.sleep(2.5)  # longer than any timeout the lesson used to give BRPOP here
        lingered += list(slow)
    assert [(r.state, r.variables, r.output) for r in lingered] == [
        (r.state, r.variables, r.output) for r in quick
    ]


def test_closing_a_run_wakes_its_blocked_command_at_once(backend_spec):
    lesson = find_lesson("blocking")
    with running(backend_spec) as backend:
        run_ = LessonRun(lesson, backend)
        run_.next_step()
        run_.next_step()  # the consumer is now blocked in BRPOP queue 0
        assert [t for t in threading.enumerate() if t.name == "tutor-background"]
        began = time.monotonic()
        run_.close()
        assert time.monotonic() - began < 2
    assert not [t for t in threading.enumerate() if t.name == "tutor-background"]


def test_reliable_queue_loses_with_rpop_and_keeps_with_lmove(backend_spec):
    _lesson, _start, records = run("reliable-queue", backend_spec)
    states = [r.state_map for r in records]
    assert states[4] == {"queue": ("job3",), "processing": ()}  # RPOP took job2 ...
    assert records[5].crashed == ("worker_a",)
    assert all("job2" not in s["queue"] + s["processing"] for s in states[5:])  # ... and it is gone
    assert states[7] == {"queue": (), "processing": ("job3",)}  # LMOVE kept job3 through the crash
    assert states[8] == {"queue": ("job3",), "processing": ()}  # recovery put it back
    assert records[11].commands[0].args == ("LREM", "processing", "1", "job3")
    assert records[11].commands[0].reply == 1
    assert states[-1] == {"queue": (), "processing": ()}


def test_streams_lesson_shares_acknowledges_claims_and_replays(backend_spec):
    _lesson, _start, records = run("streams", backend_spec)
    assert records[4].output == "c1 got 1-1" and records[5].output == "c2 got 1-2"
    pending = records[8].commands[0]
    assert pending.name == "XPENDING"
    assert pending.reply == (1, "1-2", "1-2", (("c2", "1"),))
    claimed = records[9].commands[0]
    assert claimed.reply[1] == (("1-2", ("task", "email")),)
    assert records[13].commands[0].reply == (0, None, None, None)
    history = records[14].commands[0]
    assert [entry[0] for entry in history.reply] == ["1-1", "1-2", "1-3"]


def test_compare_lesson_table_is_computed_from_the_run(backend_spec):
    lesson, _start, records = run("compare", backend_spec)
    streams = [s.key for s in lesson.state if s.type == "stream"]
    queue, news, events = compare_transports(lesson.compare, lesson.channels, streams, records)
    assert queue.answers["crash"] == "no: 'm2' left with the consumer that crashed"
    assert news.answers["late"].startswith("no: 2 messages")
    assert news.answers["fanout"] == "all 2 subscribers"
    assert news.answers["crash"] == "no: l2 missed 'm4' and never gets it"
    assert events.answers["crash"] == "yes: 1-2 was claimed from the crashed consumer"
    assert events.answers["replay"] == "yes: XRANGE read 2 processed entries again"
    assert queue.answers["replay"].startswith("no")
    keys = frozenset(lesson.key_names)
    assert execution_row(records[-1], keys).reply == "(empty array)"


MINI = (ROOT / "tests" / "lessons" / "mini.toml").read_text()


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncrash = true\n'
            '\n[[steps]]\nactor = "bob"\naction = "y"\ncommand = "LLEN jobs"\n',
            "'bob' crashed earlier",
        ),
        (
            '\n[[steps]]\nactor = "alice"\naction = "x"\njoin = ["bob"]\n',
            "'bob' has no background command to join",
        ),
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncommand = "BRPOP jobs 0"\nbackground = true\n'
            '\n[[steps]]\nactor = "bob"\naction = "y"\ncommand = "LLEN jobs"\n',
            "'bob' is still waiting for its background command; join it first",
        ),
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncommand = "LLEN jobs"\ncrash = true\n',
            "a crash step sends no command",
        ),
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncommand = "BRPOP jobs 3"\nbackground = true\n',
            "a background command must block with timeout 0",
        ),
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncommand = "BRPOP jobs 0"\n',
            "a blocking command in the foreground needs a timeout between 0 and 10 seconds",
        ),
        (
            '\n[[steps]]\nactor = "bob"\naction = "x"\ncommand = "XREAD BLOCK 60000 STREAMS jobs $"\n',
            "a blocking command in the foreground needs a timeout",
        ),
    ],
)
def test_concurrency_fields_are_validated(addition, message):
    with pytest.raises(LessonError, match=message):
        parse_lesson(MINI.replace("[[moments]]", addition + "\n[[moments]]"), "mini.toml")
