"""The lessons' Django project (lessons/django/): its views called as Django calls them, Celery and
RQ tasks run by the frameworks' own workers (processes of their own), Channels through its Redis
layer, each traced on both backends; nothing is left on a real server."""

from __future__ import annotations

import re

import pytest

from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.runfile import Run
from tests.conftest import ROOT

SCENARIOS = ROOT / "lessons" / "django" / "scenarios"


def traced(name: str, spec: str) -> Run:
    with running(spec) as backend:
        return trace_program(SCENARIOS / f"{name}.py", backend, TraceOptions(timeout=90))


def sent(run: Run) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(r.actor, r.action, tuple(c.args)) for r in run.steps for c in r.commands if c.args]


def test_celery_signup_view_and_worker(backend_spec):
    run = traced("celery_signup", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert "the worker says: welcome email sent to ana@example.com\n" in run.stdout
    commands = sent(run)
    # The view's .delay(): its line of the project, and kombu's LPUSH of the envelope.
    pushed = next(c for c in commands if c[2][:2] == ("LPUSH", "celery"))
    assert pushed[1].startswith("views.py:") and ".delay(" in pushed[1]
    workers = {a for a, _, c in commands if c[0] == "BRPOP"}
    assert len(workers) == 1 and next(iter(workers)).startswith("celery-")
    results = [
        c for a, _, c in commands if c[0] == "SETEX" and c[1].startswith("celery-task-meta-")
    ]
    assert len(results) == 1


def test_rq_report_view_and_rqworker(backend_spec):
    run = traced("rq_report", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout == "enqueued: queued\nafter the worker: finished - sales report for 2026-11\n"
    commands = sent(run)
    enqueued = next(c for c in commands if c[2][:2] == ("RPUSH", "rq:queue:default"))
    assert enqueued[1].startswith("views.py:") and "django_rq.enqueue(" in enqueued[1]
    # manage.py rqworker, a process of its own, takes the job through its intermediate list.
    taken = [c for c in commands if c[2][0] in ("LMOVE", "BLMOVE") and c[0] != enqueued[0]]
    assert taken and taken[0][2][1] == "rq:queue:default"


def test_channels_lobby_consumer_and_view(backend_spec):
    run = traced("channels_chat", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout == (
        "connected: websocket.accept\nthe browser got: {'text': 'the sale starts at noon'}\n"
    )
    commands = sent(run)
    group_add = next(c for c in commands if c[2][:2] == ("ZADD", "asgi:group:lobby"))
    assert group_add[1].startswith("consumers.py:") and "group_add" in group_add[1]
    # The group send reads the group's members, from the event loop for the sync view: named
    # after the view's line that handed it to async_to_sync.
    sends = [c for c in commands if c[2][:2] == ("ZRANGE", "asgi:group:lobby")]
    assert sends and all(a.startswith("views.py:") and "group_send" in a for _, a, _ in sends)


# What Django developers get wrong, happening (../FRAMEWORK-PITFALLS in the issue: C1, C3, R1),
# with the frameworks' clocks shortened by the project's settings.


def test_celery_acks_late_task_of_a_killed_worker_runs_again_after_the_visibility_timeout(
    backend_spec,
):
    run = traced("celery_killed_worker", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout.startswith(
        "killed mid-task; unacked holds 1 message, the queue 0\n"
        "the second worker says: photo.jpg resized\n"
    )
    commands = sent(run)
    started = [a for a, _, c in commands if c[:2] == ("SET", "resizing")]
    assert len(started) == 2 and started[0] != started[1]  # once per worker: at least once
    first, second = started
    kept = max(
        i for i, (a, _, c) in enumerate(commands) if a == first and c[:2] == ("HSET", "unacked")
    )
    restored = [
        i for i, (a, _, c) in enumerate(commands) if a == second and c[:2] == ("RPUSH", "celery")
    ]
    assert restored and restored[0] > kept  # the second worker put the message back


def test_celery_countdown_longer_than_the_visibility_timeout_runs_more_than_once(backend_spec):
    run = traced("celery_countdown", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    lines = run.stdout.splitlines()
    assert lines[0] == "taken at once: the queue holds 0 - unacked 1"
    times = int(re.fullmatch(r"the reminder ran (\d+) times for one apply_async", lines[1])[1])
    assert times >= 2
    runs = [a for a, _, c in sent(run) if c[:2] == ("INCRBY", "reminders_sent")]  # r.incr()
    assert len(runs) == times and all(a.startswith("celery-") for a in runs)


def test_rq_job_of_a_killed_worker_is_not_put_back_on_the_queue(backend_spec):
    run = traced("rq_killed_worker", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert re.fullmatch(
        r"killed mid-job; the queue holds 0 jobs; the job is started\n"
        r"started-job registry: \['[0-9a-f-]{36}'\]\n"
        r"after another worker: the job is started\n",
        run.stdout,
    ), run.stdout


def test_rq_result_is_gone_with_its_job_after_result_ttl(backend_spec):
    run = traced("rq_result_expires", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout == (
        "at once: sales report for 2026-11\n6 s later: no such job; its result is gone with it\n"
    )
    # The worker gave the finished job's hash its result_ttl.
    expiring = [(a, c) for a, _, c in sent(run) if c[0] == "EXPIRE" and c[1].startswith("rq:job:")]
    assert expiring and all(c[2] == "5" for _, c in expiring)
    assert all(a.startswith("manage-") for a, _ in expiring)


def test_channels_group_forgets_a_member_still_connected_after_group_expiry(backend_spec):
    run = traced("channels_group_expiry", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout == (
        "at once: {'text': 'doors open'}\n"
        "2.5 s later: nothing, though the browser is still connected\n"
    )
    # The group's members as each group send read them: the browser, then nobody (the key
    # expired group_expiry after group_add; group_send also trims older members).
    members = [
        c.reply
        for r in run.steps
        for c in r.commands
        if c.args[:2] == ("ZRANGE", "asgi:group:lobby")
    ]
    assert [len(m) for m in members] == [1, 0]


def test_channels_group_send_past_capacity_drops_without_an_error(backend_spec):
    run = traced("channels_capacity", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    lines = run.stdout.splitlines()
    assert lines[:5] == [f"announcement {n}: {{'sent': True}}" for n in range(1, 6)]
    assert lines[5] == "its channel holds 3 of 5 messages; the view was told nothing"


SCENARIOS_ALL = [
    "celery_signup",
    "rq_report",
    "channels_chat",
    "celery_killed_worker",
    "celery_countdown",
    "rq_killed_worker",
    "rq_result_expires",
    "channels_group_expiry",
    "channels_capacity",
]


@pytest.mark.real
@pytest.mark.parametrize("name", SCENARIOS_ALL)
def test_a_scenario_leaves_nothing_on_a_real_server(name, redis_server):
    watcher = redis_server.client()
    watcher.set("rq:queue:default", "another app's")  # names the frameworks use, not the run's
    before = {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)}
    run = traced(name, redis_server.url)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)} == before
