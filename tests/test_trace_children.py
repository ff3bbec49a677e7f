"""Processes a traced program starts are traced too: their redis-py clients (sync or asyncio,
whatever host, port or URL they name) reach the run through its recording proxy
(modes/trace/redirect.py through `sitecustomize`, and $REDIS_URL and the like), are recorded
under their process's name, and on a real server stay in the run's namespace and are removed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.runfile import Run

WORKER = """\
import os
import redis

r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"), decode_responses=True)
while (job := r.brpop("jobs", timeout=1)) is not None:
    r.hset("results", job[1], job[1].upper())
print("worker done")
"""

# Names a server of its own: the test's foreign one, which it must never reach.
NAMED = """\
import redis

r = redis.Redis(host="127.0.0.1", port={port}, password="not-the-run's")
print("deleted", r.delete("foreign"))
"""

MAIN = """\
import subprocess
import sys
import redis

r = redis.Redis(decode_responses=True)
r.lpush("jobs", "a", "b")
subprocess.run([sys.executable, "{child}"], check=True, cwd={folder!r})
print(r.hgetall("results"))
"""


def _run(tmp_path: Path, spec: str, main: str, *, timeout: float = 30, **files: str) -> Run:
    """Write the program (main.py) and the files beside it (name=source), and trace it."""
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    script = tmp_path / "main.py"
    script.write_text(main)
    with running(spec) as backend:
        return trace_program(script, backend, TraceOptions(timeout=timeout))


def _trace(tmp_path: Path, spec: str, child: str, source: str) -> Run:
    main = MAIN.format(child=child, folder=str(tmp_path))
    return _run(tmp_path, spec, main, **{child: source})


def test_a_worker_process_is_traced_under_its_name(backend_spec, tmp_path: Path):
    run = _trace(tmp_path, backend_spec, "worker.py", WORKER)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "worker done\n" in run.stdout and "{'a': 'A', 'b': 'B'}\n" in run.stdout
    steps = [(r.actor, " ".join(r.commands[0].args)) for r in run.steps]
    worker = steps[1][0]
    assert worker.startswith("worker-") and worker.removeprefix("worker-").isdigit()
    assert steps == [
        ("r", "LPUSH jobs a b"),
        (worker, "BRPOP jobs 1"),
        (worker, "HSET results a A"),
        (worker, "BRPOP jobs 1"),
        (worker, "HSET results b B"),
        (worker, "BRPOP jobs 1"),
        ("r", "HGETALL results"),
    ]
    # The worker's own line that sent each command, told by the worker's process.
    assert run.steps[1].action == (
        f'{worker}: worker.py:5: while (job := r.brpop("jobs", timeout=1)) is not None:'
    )
    assert (
        run.steps[2].action == f'{worker}: worker.py:6: r.hset("results", job[1], job[1].upper())'
    )
    # The list as the table shows it after each step, read at the server.
    assert [r.state_map["jobs"] for r in run.steps][:4] == [("b", "a"), ("b",), ("b",), ()]
    assert {k.key: dict(k.value) for k in run.keys} == {"results": {"a": "A", "b": "B"}}


@pytest.mark.real
def test_a_process_that_names_another_server_reaches_the_run(
    backend_spec, redis_server, tmp_path: Path
):
    foreign = redis_server.client()
    foreign.set("foreign", "precious")
    run = _trace(tmp_path, backend_spec, "named.py", NAMED.format(port=redis_server.port))
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "deleted 0\n" in run.stdout
    assert foreign.get("foreign") == b"precious"
    assert any(c.args == ("DEL", "foreign") for r in run.steps for c in r.commands)


@pytest.mark.real
def test_a_worker_leaves_nothing_on_a_real_server(redis_server, tmp_path: Path):
    watcher = redis_server.client()
    before = set(watcher.scan_iter(count=1000))
    run = _trace(tmp_path, redis_server.url, "worker.py", WORKER)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert set(watcher.scan_iter(count=1000)) == before


# A Django settings file often gives the broker a database of its own (/4 here).
OTHER_DB = """\
import redis

r = redis.Redis.from_url("redis://localhost:6379/4", decode_responses=True)
job = r.brpop("jobs", timeout=1)
r.hset("results", job[1], "done in db 4")
print("worker done")
"""

OTHER_DB_MAIN = """\
import subprocess
import sys
import redis

r = redis.Redis(db=4, decode_responses=True)
r.lpush("jobs", "a")
subprocess.run([sys.executable, "worker.py"], check=True, cwd={folder!r})
print(r.hgetall("results"), redis.Redis(decode_responses=True).exists("results"))
"""


def test_a_process_in_another_database_stays_there(backend_spec, tmp_path: Path):
    main = OTHER_DB_MAIN.format(folder=str(tmp_path))
    run = _run(tmp_path, backend_spec, main, **{"worker.py": OTHER_DB})
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "{'a': 'done in db 4'} 0\n" in run.stdout and "worker done\n" in run.stdout
    assert {k.key: dict(k.value) for k in run.keys if k.type == "hash"} == {
        "results (db 4)": {"a": "done in db 4"}
    }


@pytest.mark.real
def test_every_database_a_process_used_is_left_clean(redis_server, tmp_path: Path):
    watchers = [redis_server.client(db=db) for db in (0, 4)]
    before = [set(w.scan_iter(count=1000)) for w in watchers]
    main = OTHER_DB_MAIN.format(folder=str(tmp_path))
    run = _run(tmp_path, redis_server.url, main, **{"worker.py": OTHER_DB})
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert [set(w.scan_iter(count=1000)) for w in watchers] == before


LOCK = """\
import redis

r = redis.Redis()
lock = r.lock("report-lock", timeout=10)
lock.acquire()
r.set("report", "written")
lock.release()
"""


def test_keys_a_script_changes_are_read_again(backend_spec, tmp_path: Path):
    """redis-py's Lock releases with a Lua script (EVALSHA): the lock key is gone at the end."""
    run = _run(tmp_path, backend_spec, LOCK)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert any(c.args[0] == "EVALSHA" for r in run.steps for c in r.commands)
    assert {k.key for k in run.keys} == {"report"}


INFO_CHILD = """\
import redis

r = redis.Redis()
r.client_info()
r.set("a", 1)
r.set("b", 2)
"""


def test_a_child_process_lines_stay_in_step_after_a_client_command(backend_spec, tmp_path: Path):
    run = _trace(tmp_path, backend_spec, "info.py", INFO_CHILD)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    actions = {" ".join(r.commands[0].args): r.action for r in run.steps if r.commands[0].args}
    assert actions["SET a 1"].endswith('info.py:5: r.set("a", 1)')
    assert actions["SET b 2"].endswith('info.py:6: r.set("b", 2)')


@pytest.mark.real
def test_database_0_is_the_runs_own_for_every_client(redis_server, tmp_path: Path):
    """With --redis-url .../3, Redis(db=0) in the program and in its processes means the run's
    database, as it does for a client the proxy serves (which never says SELECT 0)."""
    reader = "import redis\nprint('seen', redis.Redis(db=0).lrange('q', 0, -1))\n"
    main = (
        "import subprocess, sys\nimport redis\nredis.Redis(db=0).lpush('q', 'x')\n"
        f"subprocess.run([sys.executable, 'reader.py'], check=True, cwd={str(tmp_path)!r})\n"
    )
    url = redis_server.url.removesuffix("/0") + "/3"
    run = _run(tmp_path, url, main, **{"reader.py": reader})
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "seen [b'x']" in run.stdout


SUBSCRIBER = """\
import redis

p = redis.Redis().pubsub()
p.subscribe("news")
for message in p.listen():
    if message["type"] == "message":
        print("child got", message["data"])
        break
"""

PUBLISHER = """\
import subprocess
import sys
import time
import redis

r = redis.Redis()
child = subprocess.Popen([sys.executable, "listener.py"], cwd={folder!r})
while r.pubsub_numsub("news")[0][1] == 0:
    time.sleep(0.05)
r.publish("news", "hello")
child.wait()
"""


def test_a_message_a_child_process_receives_is_credited_to_it(backend_spec, tmp_path: Path):
    main = PUBLISHER.format(folder=str(tmp_path))
    run = _run(tmp_path, backend_spec, main, **{"listener.py": SUBSCRIBER})
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "child got b'hello'" in run.stdout
    received = [r for r in run.steps if r.commands and not r.commands[0].args]
    assert len(received) == 1 and received[0].actor.startswith("listener-")


# Started with -I, so that nothing points it at the run: it names the real server itself.
AROUND = """\
import subprocess
import sys
import redis

r = redis.Redis()
r.set("mine", 1)
code = "import redis, time; c = redis.Redis(port={port}); c.ping(); time.sleep(30)"
subprocess.run([sys.executable, "-I", "-c", code], check=True)
print("never here")
"""


@pytest.mark.real
def test_a_process_that_reaches_the_real_server_around_the_tutor_is_refused(
    redis_server, tmp_path: Path
):
    run = _run(tmp_path, redis_server.url, AROUND.format(port=redis_server.port), timeout=20)
    assert run.outcome.status == "refused", (run.outcome, run.stderr)
    message = run.outcome.message
    assert f"connected to the Redis server at 127.0.0.1:{redis_server.port} directly" in message
    assert f"{Path(sys.executable).name} -I -c import redis" in message  # its command line
    assert run.outcome.seconds < 10  # stopped when seen, not at the timeout
    assert "never here" not in run.stdout
    assert [" ".join(r.commands[0].args) for r in run.steps] == ["SET mine 1"]


def test_addresses_read_from_proc_net_tcp():
    from redisqueue_tutor.modes.trace import bypass

    assert bypass._ip("0100007F") == "127.0.0.1"
    assert bypass._ip("00000000000000000000000001000000") == "::1"
    assert ("127.0.0.1", 6390) in bypass.server_addresses("localhost", 6390)


def test_a_process_that_is_ending_is_looked_at_again_not_taken_for_a_client_around(monkeypatch):
    # A process's memory (and so its command line) is gone before its files are closed: a fork
    # of the traced process that is exiting must not read as another program.
    from redisqueue_tutor.modes.trace import bypass

    lines = {1: b"python\0-m\0redisqueue_tutor.modes.trace.child", 5: b""}
    monkeypatch.setattr(bypass, "_command_bytes", lines.get)
    monkeypatch.setattr(bypass, "_socket_inodes", lambda pid: {"77"} if pid == 5 else set())
    monkeypatch.setattr(bypass, "_remote_by_inode", lambda: {"77": ("127.0.0.1", 6390)})
    addresses = {("127.0.0.1", 6390)}
    assert bypass.bypassing({5}, addresses, root=1) is None
    lines[5] = b"python3\0-I\0-c\0import redis"  # alive, and another program: stopped
    assert bypass.bypassing({5}, addresses, root=1) == (5, "127.0.0.1:6390")


ASYNC_WORKER = """\
import asyncio
import os
import redis.asyncio as aioredis


async def main():
    r = aioredis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    await r.set("done", "yes")
    async with r.pipeline(transaction=False) as pipe:
        pipe.incr("count")
        pipe.incr("count")
        await pipe.execute()
    await r.aclose()


asyncio.run(main())
"""


def test_an_asyncio_worker_process_names_its_own_lines(backend_spec, tmp_path: Path):
    run = _trace(tmp_path, backend_spec, "aworker.py", ASYNC_WORKER)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    rows = {" ".join(r.commands[0].args): r for r in run.steps}
    worker = rows["SET done yes"].actor
    assert worker.startswith("aworker-")
    assert rows["SET done yes"].action == f'{worker}: aworker.py:8: await r.set("done", "yes")'
    # A pipeline's commands leave when it is executed: that line sent them.
    sent = f"{worker}: aworker.py:12: await pipe.execute()"
    assert [(" ".join(r.commands[0].args), r.action) for r in run.steps][2:4] == [
        ("INCRBY count 1", sent),
        ("INCRBY count 1", sent),
    ]


FORKS = """\
import multiprocessing as mp
import redis


def work():
    redis.Redis().rpush("q", "from the fork")


if __name__ == "__main__":
    mp.set_start_method("fork")
    redis.Redis().set("mine", 1)
    child = mp.Process(target=work)
    child.start()
    child.join()
    print(redis.Redis().lrange("q", 0, -1))
"""


@pytest.mark.real
def test_a_fork_of_the_program_is_traced_not_refused(redis_server, tmp_path: Path):
    # A fork runs the tracer too (its clients are recorded and namespaced), and holds the traced
    # process's own connections: on a real server it is not a client around the tutor.
    run = _run(tmp_path, redis_server.url, FORKS, timeout=20)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "[b'from the fork']" in run.stdout
    assert any(c.args[:2] == ("RPUSH", "q") for r in run.steps for c in r.commands)
