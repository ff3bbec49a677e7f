"""The engine on a tiny made-up lesson: what a step records, and that records never change."""

from __future__ import annotations

import dataclasses

import fakeredis
import pytest

from redisqueue_tutor.lessons import load_lesson
from redisqueue_tutor.lessons.engine import LessonRun, run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.records import CommandRecord
from tests.conftest import ROOT

MINI = ROOT / "tests" / "lessons" / "mini.toml"


@pytest.fixture
def mini():
    return load_lesson(MINI)


def test_steps_record_commands_replies_state_and_variables(mini, backend_spec):
    with running(backend_spec) as backend:
        start, records = run_lesson(mini, backend)
    assert start.state == (("jobs", ()), ("done", ()))
    first, second, third, fourth, fifth = records
    assert first.commands == (
        CommandRecord("alice", ("RPUSH", "jobs", "a", "b c"), 2, None, first.commands[0].sent),
    )
    assert first.commands[0].sent[1] == backend.namespace.key("jobs")
    assert first.variable_map["size"] == 2
    assert first.state_map == {"jobs": ("a", "b c"), "done": ()}
    # bob's client does not decode: the program gets bytes, as redis-py gives them
    assert second.variable_map["got"] == b"a"
    assert second.output == "b'a'"
    assert second.state_map == {"jobs": ("b c",), "done": ("a",)}
    assert second.changed == {"state:jobs", "state:done", "var:got"}
    assert third.action == "Alice reads b'a'"
    assert third.output == "got a"
    assert third.commands == ()
    assert fourth.commands[0].reply == "OK"
    assert fifth.commands[0].error is not None and "WRONGTYPE" in fifth.commands[0].error
    assert fifth.output.startswith("ResponseError: WRONGTYPE")


def test_records_are_frozen_copies(mini):
    with running("fake") as backend:
        run = LessonRun(mini, backend)
        first = run.next_step()
        snapshot = dataclasses.asdict(first)
        list(run)
    assert dataclasses.asdict(first) == snapshot
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.output = "changed"  # type: ignore[misc]


def test_handshake_and_observer_are_not_recorded(mini):
    with running("fake") as backend:
        _start, records = run_lesson(mini, backend)
        names = [c.name for r in records for c in r.commands]
    assert names == ["RPUSH", "LMOVE", "SET", "LPUSH"]


def test_cleanup_removes_only_the_runs_keys():
    with running("fake") as backend:
        lesson = load_lesson(MINI)
        # Somebody else's client on the same server (the run's own clients could not write it).
        other = fakeredis.FakeRedis(server=backend.server, decode_responses=True)
        other.set("jobs", "foreign")
        run_lesson(lesson, backend)
        assert other.exists(backend.namespace.key("done"))
        removed = backend.cleanup()
        assert removed == 2
        assert other.get("jobs") == "foreign"
        assert list(other.scan_iter(match=backend.namespace.pattern)) == []


def test_the_fake_backend_is_described_without_info_or_role():
    # (On fakeredis alone: it lives here, not among the real-server tests.)
    with running("fake") as backend:
        assert backend.describe().startswith("embedded fakeredis 2.")
        assert backend.log.since(0) == ()  # describing sent nothing through a lesson client
