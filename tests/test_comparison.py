"""The pubsub-vs-queue comparison is computed from the run, on both backends."""

from __future__ import annotations

from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.comparison import channel_verdict, compare_transports, list_verdict
from redisqueue_tutor.run.records import CommandRecord, StepRecord


def test_list_buffers_for_one_consumer_channel_fans_out_and_forgets(backend_spec):
    lesson = find_lesson("pubsub-vs-queue")
    with running(backend_spec) as backend:
        _start, records = run_lesson(lesson, backend)
    queue, news = compare_transports(lesson.compare, lesson.channels, [], records)
    shown = ("late", "fanout", "kept")
    assert [queue.answers[q] for q in shown] == [
        "yes: 3 messages pushed before their consumer arrived were popped later",
        "one consumer (4 popped, each by one client)",
        "yes: up to 3 waited in the list",
    ]
    assert [news.answers[q] for q in shown] == [
        "no: 3 messages published while nobody listened never arrived",
        "all 2 subscribers",
        "no: PUBLISH stores nothing ('m1' was dropped)",
    ]
    assert records[-1].variable_map["heard_a"] == ("m4",)


def step(number: int, *commands: CommandRecord, state=()) -> StepRecord:
    return StepRecord(number, "x", "", commands, "None", state, ())


def test_verdicts_follow_the_records_not_the_lesson():
    # A consumer that was already there when the item was pushed: not a "late" delivery.
    records = [
        step(1, CommandRecord("w", ("RPOP", "q"), None)),
        step(2, CommandRecord("p", ("RPUSH", "q", "a"), 1), state=(("q", ("a",)),)),
        step(3, CommandRecord("w", ("RPOP", "q"), "a"), state=(("q", ()),)),
    ]
    verdict = list_verdict("q", records)
    assert verdict.answers["late"] == "no message was popped by a consumer that arrived after it"
    assert verdict.answers["kept"] == "yes: up to 1 waited in the list"
    heard = [
        step(
            1,
            CommandRecord("p", ("PUBLISH", "c", "hi"), 1),
            CommandRecord("s", (), (b"message", b"c", b"hi")),
        ),
    ]
    assert channel_verdict("c", heard).answers["late"].startswith("no: 0 messages")
    assert channel_verdict("c", heard).answers["fanout"] == "every subscriber listening then"
