"""Safety on somebody's server: the tutor removes what it created and never touches anything else.

A server of our own is filled with a few thousand foreign keys of every type (one of them named
`queue`, some that look like the tutor's own), then every lesson runs, a lesson is interrupted in
the middle (Ctrl-C, SIGTERM, SIGHUP, SIGKILL), and the foreign keys must be byte for byte the same
(DUMP) while none of the tutor's keys remain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import LessonRun, run_lesson
from redisqueue_tutor.run.backend import KEY_TTL, Namespace, running
from tests.conftest import ROOT, RedisServer, all_keys, redis_server_binary

pytestmark = pytest.mark.real

LOOKALIKES = (b"tutor:{cafef00d}:queue", b"tutor:{cafef00d}:~owner", b"tutor:queue", b"tutor:{x}:")


@pytest.fixture(scope="module")
def crowded() -> RedisServer:
    """A server holding 3,000 foreign keys, as somebody's development Redis would."""
    server = RedisServer(redis_server_binary())
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"app:session:{i}", os.urandom(16))
        pipe.rpush(f"celery:{i}", "a", "b", str(i))
        pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "visits": i})
        pipe.sadd(f"tags:{i}", "x", "y", i)
        pipe.zadd(f"rank:{i}", {"a": i, "b": -i})
        pipe.xadd(f"events:{i}", {"n": i})
    pipe.delete("celery:0")
    pipe.rpush("queue", "somebody's", "own", "queue")  # the lesson's short name, taken already
    for name in LOOKALIKES:
        pipe.set(name, b"\x00not the tutor's\xff")
    pipe.execute()
    yield server
    server.stop()


def snapshot(server: RedisServer) -> dict[bytes, tuple[bytes, int]]:
    """Every key with its DUMP and whether it has a TTL."""
    client = server.client()
    names = sorted(all_keys(client))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.dump(name)
        pipe.pttl(name)
    replies = pipe.execute()
    return {name: (replies[2 * i], replies[2 * i + 1] == -1) for i, name in enumerate(names)}


def tutor_keys(server: RedisServer) -> set[bytes]:
    """Keys of the tutor's own making (a run's namespace), minus the foreign look-alikes."""
    return all_keys(server.client(), "tutor:*") - set(LOOKALIKES)


def test_the_crowded_server_is_crowded(crowded):
    before = snapshot(crowded)
    assert len(before) > 3000
    assert b"queue" in before and all(name in before for name in LOOKALIKES)
    assert tutor_keys(crowded) == set()


def test_every_lesson_and_an_interrupted_one_leave_foreign_keys_untouched(crowded):
    before = snapshot(crowded)
    for lesson_id in sorted(discover()):
        with running(crowded.url) as backend:
            _start, records = run_lesson(find_lesson(lesson_id), backend)
            assert records
            assert backend.namespace.prefix.startswith("tutor:{")
            assert all_keys(crowded.client(), backend.namespace.pattern)  # it did write
        assert tutor_keys(crowded) == set(), lesson_id

    # Ctrl-C in the middle of a lesson, in-process.
    with pytest.raises(KeyboardInterrupt), running(crowded.url) as backend:
        run = LessonRun(find_lesson("queue"), backend)
        run.next_step()
        run.next_step()
        assert len(all_keys(crowded.client(), backend.namespace.pattern)) >= 2
        raise KeyboardInterrupt

    assert tutor_keys(crowded) == set()
    assert snapshot(crowded) == before


def tutor_process(url: str, *args: str) -> subprocess.Popen[bytes]:
    """The installed tutor, auto-playing slowly, so that it can be interrupted mid-lesson."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TUTOR_REDIS_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "redisqueue_tutor", "step", "queue", "--plain", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for_run_keys(server: RedisServer, process: subprocess.Popen[bytes]) -> set[bytes]:
    """Wait until the tutor has run a step (its `queue` key exists); return its keys."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = {k for k in tutor_keys(server) if k.endswith(b":queue")}
        if found:
            return tutor_keys(server)
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.kill()
    raise AssertionError("the tutor never ran its first step")


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGHUP, 129)],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_a_stopped_tutor_removes_its_keys(crowded, sig, code):
    before = snapshot(crowded)
    process = tutor_process(crowded.url, "--auto", "--delay", "30")
    keys = wait_for_run_keys(crowded, process)
    assert any(k.endswith(b":~owner") for k in keys)
    process.send_signal(sig)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == code, err
    assert b"Traceback" not in err
    assert tutor_keys(crowded) == set()
    assert snapshot(crowded) == before


def test_a_killed_tutor_leaves_only_keys_that_expire_by_themselves(crowded):
    before = snapshot(crowded)
    process = tutor_process(crowded.url, "--auto", "--delay", "30")
    keys = wait_for_run_keys(crowded, process)
    process.kill()  # SIGKILL: no chance to clean up
    process.wait(timeout=10)
    assert tutor_keys(crowded) == keys  # left behind, as expected...
    client = crowded.client()
    ttls = {name: client.ttl(name) for name in keys}
    assert all(0 < ttl <= KEY_TTL for ttl in ttls.values()), ttls  # ...but every one expires

    # Another tutor never deletes them: nothing on the server can make it delete a key.
    with running(crowded.url) as backend:
        assert keys <= tutor_keys(crowded)
        assert backend.namespace.owner_key.encode() in tutor_keys(crowded)
    assert tutor_keys(crowded) == keys
    client.delete(*keys)  # what their expiry will do, without waiting for it
    assert snapshot(crowded) == before


def test_keys_of_a_live_run_are_refreshed_and_a_step_that_clears_an_expiry_is_undone(crowded):
    lesson = find_lesson("queue")
    with running(crowded.url) as backend, LessonRun(lesson, backend) as run:
        run.next_step()
        queue = backend.namespace.key("queue")
        client = crowded.client()
        assert 0 < client.ttl(queue) <= KEY_TTL
        client.persist(queue)  # as a lesson's SET would, without KEEPTTL
        run.next_step()
        assert 0 < client.ttl(queue) <= KEY_TTL
    assert tutor_keys(crowded) == set()


def test_a_registry_entry_written_by_anybody_deletes_nothing(crowded):
    """Names in a set that looks like an old tutor registry are somebody's data, not orders."""
    client = crowded.client()
    victim = Namespace.for_run("0000dead").key("queue")
    client.rpush(victim, "somebody's task")
    client.sadd("tutor:{registry}:runs", "0000dead")
    with running(crowded.url):
        pass
    assert client.lrange(victim, 0, -1) == [b"somebody's task"]
    client.delete(victim, "tutor:{registry}:runs")


def test_two_tutors_at_once_do_not_see_each_others_keys_or_messages(crowded):
    """Two runs of every lesson on one server, step by step in turn, record what a lone run does."""
    for lesson_id in sorted(discover()):
        lesson = find_lesson(lesson_id)
        with running("fake") as fake:
            _start, alone = run_lesson(lesson, fake)
        with running(crowded.url) as first, running(crowded.url) as second:
            assert first.namespace != second.namespace
            with LessonRun(lesson, first) as one, LessonRun(lesson, second) as two:
                together = [(one.next_step(), two.next_step()) for _ in lesson.steps]
        for lone, (a, b) in zip(alone, together, strict=True):
            for record in (a, b):
                assert record.state == lone.state, (lesson_id, record.number)
                assert record.output == lone.output, (lesson_id, record.number)
                assert [(c.client, c.args, c.reply) for c in record.commands] == [
                    (c.client, c.args, c.reply) for c in lone.commands
                ], (lesson_id, record.number)
    assert tutor_keys(crowded) == set()
