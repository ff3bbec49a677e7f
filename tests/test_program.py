"""The program line shown beside each step is redis-py that sends exactly the step's command.

Every derived line of every lesson is run on a fakeredis client whose connection writes down what
it sends; template words ({task}, {got[0][1][0][0]}) stand for a value the run computes, so a
probe takes their place on both sides.
"""

from __future__ import annotations

import builtins
import contextlib
import shlex

import fakeredis
import pytest

from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.program import step_code

PROBE_TEXT = "probe-value"


class Probe(str):
    """A template's value: indexing it gives itself, so got[0][1][0][0] is still the probe."""

    def __getitem__(self, _index):  # type: ignore[override]
        return self


class Variables(dict):
    def __missing__(self, name: str) -> object:
        if hasattr(builtins, name):
            return getattr(builtins, name)
        return Probe(PROBE_TEXT)


def recording_client(sent: list[tuple[str, ...]]):
    """A redis-py client that writes down each command it would send, and sends nothing."""

    class Recording(fakeredis.FakeRedisConnection):
        def connect(self, *args, **kwargs):
            pass

        def send_command(self, *args, **kwargs):
            words = [a.decode() if isinstance(a, bytes) else str(a) for a in args]
            sent.append(tuple(words[0].split() + words[1:]))

        def read_response(self, *args, **kwargs):
            return None

    return fakeredis.FakeRedis(connection_class=Recording, decode_responses=True)


def expected_words(command: str) -> tuple[str, ...]:
    words = shlex.split(command)
    return tuple(PROBE_TEXT if w.startswith("{") and w.endswith("}") else w for w in words)


# A scenario lesson's steps send no command of their own: their lines are the run's.
LESSONS = sorted(i for i in discover() if find_lesson(i).scenario is None)


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_derived_line_sends_the_steps_command(lesson_id):
    lesson = find_lesson(lesson_id)
    checked = 0
    for number, step in enumerate(lesson.steps, start=1):
        code = step_code(lesson, step)
        if step.command is None or step.code:
            continue
        assert code is not None, (lesson_id, number)
        sent: list[tuple[str, ...]] = []
        names = Variables({c.name: recording_client(sent) for c in lesson.clients})
        if code.startswith("pubsub.") and not code.startswith("pubsub = "):
            names["pubsub"] = names[step.actor].pubsub()
        with contextlib.suppress(Exception):  # replies are None here: parsing them may fail
            exec(code, {}, names)  # the line is ours, derived from a lesson file
        want = expected_words(step.command)
        assert sent == [want] * step.repeat, (lesson_id, number, code)
        checked += 1
    assert checked


def test_lines_read_as_redis_py():
    lesson = find_lesson("queue")
    assert step_code(lesson, lesson.steps[0]) == "producer.lpush('queue', 'task1')"
    assert step_code(lesson, lesson.steps[2]) == "task = consumer.rpop('queue')"
    blocking = find_lesson("blocking")
    assert step_code(blocking, blocking.steps[0]) == "for _ in range(3): consumer.rpop('queue')"
    assert step_code(blocking, blocking.steps[1]).startswith(
        "task = consumer.brpop('queue', timeout=0)"
    )
    streams = find_lesson("streams")
    lines = [step_code(streams, s) for s in streams.steps]
    assert "producer.xadd('events', {'task': 'resize'}, id='1-1')" in lines
