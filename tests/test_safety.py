"""Safety on somebody's server: the tutor removes what it created and never touches anything else.

A server of our own is filled with a few thousand foreign keys of every type (one of them named
`queue`, some that look like the tutor's own), then every lesson runs, a lesson is interrupted in
the middle (Ctrl-C, SIGTERM, SIGHUP, SIGKILL), and the foreign keys must be byte for byte the same
(DUMP) while none of the tutor's keys remain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from redisqueue_tutor.backend import (
    REGISTRY_KEY,
    Namespace,
    RedisBackend,
    machine_identity,
    running,
)
from redisqueue_tutor.engine import LessonRun, run_lesson
from redisqueue_tutor.lessons import discover, find_lesson
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
    """Keys of the tutor's own making: a namespace or the registry, minus the foreign look-alikes."""
    return (all_keys(server.client(), "tutor:*") - set(LOOKALIKES)) | (
        {REGISTRY_KEY.encode()} & all_keys(server.client(), REGISTRY_KEY)
    )


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
    assert any(k.endswith(b":~owner") for k in keys) and REGISTRY_KEY.encode() in keys
    process.send_signal(sig)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == code, err
    assert b"Traceback" not in err
    assert tutor_keys(crowded) == set()
    assert snapshot(crowded) == before


def test_a_killed_tutor_is_cleaned_up_when_the_tutor_starts_again(crowded):
    before = snapshot(crowded)
    process = tutor_process(crowded.url, "--auto", "--delay", "30")
    keys = wait_for_run_keys(crowded, process)
    process.kill()  # SIGKILL: no chance to clean up
    process.wait(timeout=10)
    assert tutor_keys(crowded) == keys  # left behind, as expected

    with running(crowded.url) as backend:
        # Reaped before the first step, while this run's own lease is in place.
        assert tutor_keys(crowded) == {backend.namespace.owner_key.encode(), REGISTRY_KEY.encode()}
    assert tutor_keys(crowded) == set()
    assert snapshot(crowded) == before


def register(server: RedisServer, run_id: str, owner: dict[str, object] | None) -> bytes:
    """A registry entry as another tutor would have left it, with one key in its namespace."""
    client = server.client()
    namespace = Namespace.for_run(run_id)
    if owner is not None:
        client.set(namespace.owner_key, json.dumps(owner), ex=600)
    client.rpush(namespace.key("queue"), "task1")
    client.sadd(REGISTRY_KEY, run_id)
    return namespace.key("queue").encode()


def test_only_dead_runs_are_reaped(crowded):
    here = machine_identity()
    dead_here = register(crowded, "0000dead", {"host": here, "pid": _dead_pid()})
    expired = register(crowded, "0000e0e0", None)  # its lease ran out, wherever it ran
    alive_here = register(crowded, "000a11fe", {"host": here, "pid": os.getppid()})
    elsewhere = register(crowded, "0e15e0e0", {"host": "other-laptop/1234", "pid": 1})

    with running(crowded.url):
        keys = tutor_keys(crowded)
    assert dead_here not in keys and expired not in keys
    assert alive_here in keys and elsewhere in keys
    members = crowded.client().smembers(REGISTRY_KEY)
    assert members == {b"000a11fe", b"0e15e0e0"}

    # Tidy up as those two tutors would on their own exit, through the tutor's own cleanup.
    for run_id in ("000a11fe", "0e15e0e0"):
        backend = RedisBackend(crowded.url, Namespace.for_run(run_id))
        backend.started = True
        backend.close()
    assert tutor_keys(crowded) == set()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


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
