"""Asyncio clients are traced: whatever host, port, URL or pool the program names, they reach the
run (the recording proxy of modes/trace/endpoint.py), never the server they name.

Once they were refused: an asyncio client connected to the host the program named, past the
tracer (it deleted another program's keys on a real server while the trace ran on the embedded
fakeredis). Now each one, and an asyncio connection the program builds itself, is pointed at the
run: its commands are recorded with the program line that sent them, in the run's namespace. A
sync connection the program builds itself (outside redis.Redis) is still stopped with one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.run.runfile import read_run

runner = CliRunner()

# Each opens an asyncio client its own way, then deletes a key that is not the program's, on the
# tests' own redis-server (named directly: the tracer never hands it to an asyncio client). So every
# case is `real`, the fake backend's too: the server is the foreign one the program must not reach.
OPENINGS = {
    "Redis": "r = aioredis.Redis(host=HOST, port=PORT)",
    "StrictRedis": "r = aioredis.StrictRedis(host=HOST, port=PORT)",
    "client.Redis": "r = redis.asyncio.client.Redis(host=HOST, port=PORT)",
    "from_url": "r = aioredis.from_url(URL)",
    "Redis.from_url": "r = aioredis.Redis.from_url(URL, decode_responses=True)",
    "ConnectionPool": (
        "r = aioredis.Redis(connection_pool=aioredis.ConnectionPool(host=HOST, port=PORT))"
    ),
    "BlockingConnectionPool.from_url": (
        "r = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(URL))"
    ),
}

PROGRAM = """\
import asyncio
import redis
import redis.asyncio
import redis.asyncio as aioredis

HOST, PORT, URL = {host!r}, {port}, {url!r}


async def main():
    {opening}
    print("deleted", await r.delete({key!r}))


try:
    asyncio.run(main())
except BaseException as exc:  # nothing to swallow: the client reached the run
    print("swallowed", type(exc).__name__)
r = redis.Redis()
r.rpush("after", "the refusal")
"""

CONNECTION = """\
import asyncio
import redis.asyncio as aioredis


async def main():
    connection = aioredis.Connection(host={host!r}, port={port})
    await connection.connect()
    await connection.send_command("DEL", {key!r})
    print("deleted", await connection.read_response())


asyncio.run(main())
"""


def _url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def _check_redirected(result, saved: Path, foreign, key: str) -> None:
    """The program ran to its end; its DEL reached the run, where the key does not exist."""
    assert result.exit_code == 0, result.output
    assert "deleted 0" in result.stdout and "swallowed" not in result.stdout
    commands = [(r.action, c.args, c.reply) for r in read_run(saved).steps for c in r.commands]
    assert commands == [
        ('line 11: print("deleted", await r.delete(' + repr(key) + "))", ("DEL", key), 0),
        ('line 19: r.rpush("after", "the refusal")', ("RPUSH", "after", "the refusal"), 1),
    ]
    assert foreign.get(key) == b"precious"


@pytest.mark.real
@pytest.mark.parametrize("opening", list(OPENINGS))
def test_an_asyncio_client_reaches_the_run_whatever_it_names(
    opening: str, backend_spec: str, redis_server, tmp_path: Path
):
    foreign = redis_server.client()
    key = f"foreign:asyncio:{opening}"
    foreign.set(key, "precious")
    script = tmp_path / "aio.py"
    script.write_text(
        PROGRAM.format(
            host="127.0.0.1",
            port=redis_server.port,
            url=_url(redis_server.port),
            opening=OPENINGS[opening],
            key=key,
        )
    )
    saved = tmp_path / "run.json"
    result = runner.invoke(
        app, ["trace", str(script), "--plain", "--backend", backend_spec, "-o", str(saved)]
    )
    _check_redirected(result, saved, foreign, key)


@pytest.mark.real
def test_an_asyncio_connection_of_its_own_reaches_the_run(
    backend_spec, redis_server, tmp_path: Path
):
    foreign = redis_server.client()
    key = "foreign:asyncio:connection"
    foreign.set(key, "precious")
    script = tmp_path / "conn.py"
    script.write_text(CONNECTION.format(host="127.0.0.1", port=redis_server.port, key=key))
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", backend_spec])
    assert result.exit_code == 0, result.output
    assert "deleted 0" in result.stdout
    assert foreign.get(key) == b"precious"


def test_the_sync_client_still_works_beside_an_unused_import(tmp_path: Path):
    script = tmp_path / "sync.py"
    script.write_text(
        "import redis\nimport redis.asyncio\nr = redis.Redis()\nr.rpush('q', 'a')\nprint(r.rpop('q'))\n"
    )
    result = runner.invoke(app, ["trace", str(script), "--plain"])
    assert result.exit_code == 0, result.output
    assert "RPUSH q 'a'" in result.stdout and "b'a'" in result.stdout


SYNC_CONNECTIONS = {
    "Connection": "c = redis.Connection(host=HOST, port=PORT)",
    "ConnectionPool": "c = redis.ConnectionPool(host=HOST, port=PORT).get_connection()",
    "from_url pool": "c = redis.ConnectionPool.from_url(URL).get_connection()",
}

SYNC = """\
import redis

HOST, PORT, URL = {host!r}, {port}, {url!r}
{opening}
c.send_command("DEL", {key!r})
print("deleted", c.read_response())
"""


@pytest.mark.real
@pytest.mark.parametrize("opening", list(SYNC_CONNECTIONS))
def test_a_sync_connection_of_its_own_is_stopped(
    opening: str, backend_spec: str, redis_server, tmp_path: Path
):
    foreign = redis_server.client()
    key = f"foreign:sync:{opening}"
    foreign.set(key, "precious")
    script = tmp_path / "conn.py"
    script.write_text(
        SYNC.format(
            host="127.0.0.1",
            port=redis_server.port,
            url=_url(redis_server.port),
            opening=SYNC_CONNECTIONS[opening],
            key=key,
        )
    )
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", backend_spec])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "of its own, outside redis.Redis" in lines[0]
    assert "Traceback" not in result.output and "deleted" not in result.stdout
    assert foreign.get(key) == b"precious"


ASYNC_QUEUE = """\
import asyncio
import redis.asyncio as aioredis


async def consumer(r):
    task = await r.brpop("jobs", timeout=10)
    print("consumer got", task)


async def main():
    r = aioredis.Redis(host="redis.example", port=6380, password="secret", decode_responses=True)
    waiting = asyncio.create_task(consumer(r))
    await asyncio.sleep(0.2)
    await r.lpush("jobs", "resize")
    await waiting
    await r.hset("job:1", mapping={"state": "done"})
    print(await r.hgetall("job:1"))
    await r.aclose()


asyncio.run(main())
"""


def test_an_asyncio_producer_and_consumer_are_traced(backend_spec, tmp_path: Path):
    from redisqueue_tutor.modes.trace import TraceOptions, trace_program
    from redisqueue_tutor.run.backend import running

    script = tmp_path / "aqueue.py"
    script.write_text(ASYNC_QUEUE)
    with running(backend_spec) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=30))
        prefix = backend.namespace.prefix
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert run.stdout == "consumer got ('jobs', 'resize')\n{'state': 'done'}\n"
    rows = [(r.actor, r.action, " ".join(r.commands[0].args)) for r in run.steps]
    assert rows == [
        ("consumer", 'line 6: task = await r.brpop("jobs", timeout=10)', "BRPOP jobs 10"),
        ("main", 'line 14: await r.lpush("jobs", "resize")', "LPUSH jobs resize"),
        (
            "main",
            'line 16: await r.hset("job:1", mapping={"state": "done"})',
            "HSET job:1 state done",
        ),
        ("main", 'line 17: print(await r.hgetall("job:1"))', "HGETALL job:1"),
    ] or rows[:2] == [  # the server may answer the LPUSH before the BRPOP it woke
        ("main", 'line 14: await r.lpush("jobs", "resize")', "LPUSH jobs resize"),
        ("consumer", 'line 6: task = await r.brpop("jobs", timeout=10)', "BRPOP jobs 10"),
    ]
    brpop = next(c for r in run.steps for c in r.commands if c.args[0] == "BRPOP")
    assert tuple(brpop.reply) == (b"jobs", b"resize")  # the short name, as the program read it
    assert {k.key: dict(k.value) for k in run.keys} == {"job:1": {"state": "done"}}
    assert prefix.startswith("tutor:{")


@pytest.mark.real
def test_asyncio_keys_are_namespaced_and_removed_on_a_real_server(redis_server, tmp_path: Path):
    watcher = redis_server.client()
    before = set(watcher.scan_iter(count=1000))
    script = tmp_path / "aqueue.py"
    script.write_text(ASYNC_QUEUE)
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", redis_server.url])
    assert result.exit_code == 0, result.output
    assert set(watcher.scan_iter(count=1000)) == before


ASYNC_PIPELINE = """\
import asyncio
import redis.asyncio as aioredis


async def main():
    r = aioredis.Redis()
    async with r.pipeline(transaction=False) as p:
        p.rpush("q", "a")
        p.rpush("q", "b")
        await p.execute()
    await r.lpop("q")
    await r.set("done", 1)
    await r.aclose()


asyncio.run(main())
"""


def test_each_asyncio_command_names_its_own_line_after_a_pipeline(tmp_path: Path):
    from redisqueue_tutor.modes.trace import TraceOptions, trace_program
    from redisqueue_tutor.run.backend import running

    script = tmp_path / "apipe.py"
    script.write_text(ASYNC_PIPELINE)
    with running("fake") as backend:
        run = trace_program(script, backend, TraceOptions(timeout=30))
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    rows = [(r.action, " ".join(r.commands[0].args)) for r in run.steps]
    assert rows == [
        ("line 10: await p.execute()", "RPUSH q a"),
        ("line 10: await p.execute()", "RPUSH q b"),
        ('line 11: await r.lpop("q")', "LPOP q"),
        ('line 12: await r.set("done", 1)', "SET done 1"),
    ]
