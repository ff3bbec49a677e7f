"""`tutor trace` on the frameworks Django developers use, run for real in their own workers.

- RQ: a program enqueues a job and starts `rq worker --burst` as a process of its own;
- Celery: a program calls `.delay()` and starts `celery worker -P solo` as a process of its own;
- Django Channels: both Redis channel layers (RedisChannelLayer, RedisPubSubChannelLayer), which
  use `redis.asyncio`.

Every client of every process reaches the run (modes/trace/endpoint.py, redirect.py) and is
recorded under its process's name, on both backends. The Lua scripts Celery's transport and
RedisChannelLayer send run on a real server too, since the tutor knows them (keyspace/scripts.py)
and keeps every key they touch in the run's namespace; a script it does not know is refused
there with one line. Nothing is left behind on a real server.
"""

from __future__ import annotations

import pytest

from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.runfile import Run
from tests.conftest import ROOT, required_module

FRAMEWORKS = ROOT / "tests" / "scripts" / "frameworks"


def traced(name: str, spec: str) -> Run:
    with running(spec) as backend:
        return trace_program(FRAMEWORKS / f"{name}.py", backend, TraceOptions(timeout=60))


def sent(run: Run) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.actor, tuple(c.args)) for r in run.steps for c in r.commands if c.args]


def _worker(run: Run, process: str) -> str:
    names = {actor for actor, _ in sent(run) if actor.startswith(f"{process}-")}
    assert len(names) == 1, names
    (name,) = names
    assert name.removeprefix(f"{process}-").isdigit()
    return name


def test_rq_enqueue_and_a_burst_worker_process(backend_spec):
    required_module("rq")
    run = traced("rq_burst", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout.startswith("enqueued: queued\n")
    assert "after the worker: finished photo.jpg resized\n" in run.stdout
    worker = _worker(run, "rq")
    commands = sent(run)
    # The view's side (the program): the job's hash, then its id pushed on the queue.
    pushed = next(i for i, (a, c) in enumerate(commands) if c[:2] == ("RPUSH", "rq:queue:default"))
    assert commands[pushed][0] == "redis"  # the program's client, named after its variable
    # The worker's side, in its own process: it takes the id off the queue, reads the job.
    taken = [i for i, (a, c) in enumerate(commands) if a == worker and "rq:queue:default" in c]
    assert taken and min(taken) > pushed
    assert any(a == worker and c[0] == "HGETALL" for a, c in commands)


def test_celery_delay_and_a_worker_process(backend_spec):
    required_module("celery")
    run = traced("celery_worker", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout.startswith("result: photo.jpg resized\n")
    worker = _worker(run, "celery")
    commands = sent(run)
    # What REDIS-FACTS.md says Celery sends: LPUSH by the producer, BRPOP by the worker, the
    # unacked bookkeeping, the result with SETEX + PUBLISH, and the ack.
    assert any(c[:2] == ("LPUSH", "celery") and a != worker for a, c in commands)
    kinds = {c[0] for a, c in commands if a == worker}
    assert {"BRPOP", "ZADD", "HSET", "SETEX", "PUBLISH", "ZREM", "HDEL", "EVALSHA"} <= kinds


def test_both_channel_layers(backend_spec):
    required_module("channels_redis")
    run = traced("channels_layers", backend_spec)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert run.stdout == "default received: hello via default\npubsub received: hello via pubsub\n"
    kinds = [c[0] for _, c in sent(run)]
    for command in ("ZADD", "EVAL", "BZPOPMIN", "SUBSCRIBE", "PUBLISH"):
        assert command in kinds
    group_add = next(r for r in run.steps if r.commands[0].args[:2] == ("ZADD", "asgi:group:chat"))
    assert group_add.action.startswith("line ") and "group_add" in group_add.action


@pytest.mark.real
@pytest.mark.parametrize("name", ["rq_burst", "celery_worker", "channels_layers"])
def test_a_framework_leaves_nothing_on_a_real_server(name, redis_server):
    required_module({"rq_burst": "rq", "celery_worker": "celery"}.get(name, "channels_redis"))
    watcher = redis_server.client()
    watcher.set("_kombu.binding.celery", "another app's")  # what kombu's sweep script could reach
    before = {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)}
    run = traced(name, redis_server.url)
    assert run.outcome.status == "finished", (run.outcome, run.stderr[-2000:])
    assert {k: watcher.dump(k) for k in watcher.scan_iter(count=1000)} == before


UNKNOWN_SCRIPT = """import redis

r = redis.Redis()
print(r.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "greeting", "hello"))
print(r.get("greeting"))
"""


def test_a_script_the_tutor_does_not_know_runs_only_on_the_embedded_server(backend_spec, tmp_path):
    script = tmp_path / "lua.py"
    script.write_text(UNKNOWN_SCRIPT)
    with running(backend_spec) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=30))
    if backend_spec == "fake":
        assert run.outcome.status == "finished", run.outcome
        assert run.stdout == "b'OK'\nb'hello'\n"
        return
    assert run.outcome.status == "refused", run.outcome
    assert run.outcome.message.startswith("EVAL is refused: a script can reach keys")
    assert "not one of the scripts it knows" in run.outcome.message
