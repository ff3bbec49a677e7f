"""The lessons' Django project (lessons/django/): its views called as Django calls them, Celery and
RQ tasks run by the frameworks' own workers (processes of their own), Channels through its Redis
layer, each traced on both backends; nothing is left on a real server."""

from __future__ import annotations

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
    assert any(c[2][0] == "EVAL" for c in commands)  # channels_redis's group send script


@pytest.mark.real
@pytest.mark.parametrize("name", ["celery_signup", "rq_report", "channels_chat"])
def test_a_scenario_leaves_nothing_on_a_real_server(name, redis_server):
    watcher = redis_server.client()
    watcher.set("rq:queue:default", "another app's")  # names the frameworks use, not the run's
    before = {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)}
    run = traced(name, redis_server.url)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)} == before
