"""The pub/sub lesson: real listener threads on both backends, and none left behind."""

from __future__ import annotations

import threading

from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import LessonRun, run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.tables import execution_row


def listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tutor-listener-")]


def test_pubsub_lesson_delivers_what_redis_delivers(backend_spec):
    lesson = find_lesson("pubsub")
    with running(backend_spec) as backend:
        start, records = run_lesson(lesson, backend)
    assert listener_threads() == []
    keys = frozenset(lesson.key_names)
    rows = [execution_row(r, keys) for r in records]
    # Published before anyone subscribed: nobody got it, and it never arrives later.
    assert rows[0].reply == "(integer) 0"
    assert all(b"Notification 0" not in r.variable_map["received"] for r in records)
    # The confirmation of SUBSCRIBE, then each message pushed to the listener, decoded in output.
    assert records[1].commands[0].reply == (b"subscribe", b"notifications", 1)
    third = records[2].commands
    assert [(c.client, c.args) for c in third] == [
        ("publisher", ("PUBLISH", "notifications", "Notification 1")),
        ("listener", ()),
    ]
    assert third[0].reply == 1
    assert third[1].reply == (b"message", b"notifications", b"Notification 1")
    assert records[2].output == "Sent: Notification 1\nReceived: Notification 1"
    # Fan-out: two subscribers, PUBLISH answers 2, each gets its own copy.
    assert records[6].commands[0].reply == 2
    assert records[6].commands[2].reply == (
        b"pmessage",
        b"notif*",
        b"notifications",
        b"Notification 4",
    )
    # After UNSUBSCRIBE only the pattern subscriber hears.
    assert records[8].commands[0].reply == 1
    assert records[-1].variable_map["received"] == (
        b"Notification 1",
        b"Notification 2",
        b"Notification 3",
        b"Notification 4",
    )
    assert records[-1].variable_map["audited"] == (b"Notification 4", b"Notification 5")
    assert [r.state_map["notifications"].count for r in records] == [0, 1, 1, 1, 1, 1, 1, 0, 0]


def test_stopping_in_the_middle_joins_the_listener_threads(backend_spec):
    lesson = find_lesson("pubsub")
    with running(backend_spec) as backend:
        run = LessonRun(lesson, backend)
        for _ in range(6):  # both listeners are running now
            run.next_step()
        assert len(listener_threads()) == 2
        run.close()
    assert listener_threads() == []


def test_channels_are_namespaced_like_keys():
    lesson = find_lesson("pubsub")
    with running("fake") as backend:
        _start, records = run_lesson(lesson, backend)
        sent = records[2].commands[0].sent
    assert sent[1] == backend.namespace.key("notifications") != "notifications"
