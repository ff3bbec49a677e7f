"""A traced program that opens a client the tracer cannot route is stopped before it sends anything.

The tracer routes and records redis-py's sync clients (redis.Redis); an asyncio client, or a sync
connection the program builds for itself, would connect to the host the program names, past the
tracer (it deleted another program's keys on a real server while the trace ran on the embedded
fakeredis). Until asyncio clients are recorded, opening one stops the program with one line,
exit 2, as a refused command does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app

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
except BaseException as exc:  # a program that swallows everything is stopped all the same
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


def _check_stopped(result, foreign, key: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the program opened redis.asyncio.")
    assert "does not record asyncio clients" in lines[0]
    assert "Traceback" not in result.output
    assert "deleted" not in result.stdout and "swallowed" not in result.stdout
    assert "RPUSH after" not in result.stdout  # stopped at once: nothing after the refusal ran
    assert foreign.get(key) == b"precious"


@pytest.mark.real
@pytest.mark.parametrize("opening", list(OPENINGS))
def test_an_asyncio_client_is_stopped_before_it_reaches_a_server(
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
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", backend_spec])
    _check_stopped(result, foreign, key)
    assert f"line 10: {OPENINGS[opening]}" in result.stderr  # the line that opened it


@pytest.mark.real
def test_an_asyncio_connection_of_its_own_is_stopped(backend_spec, redis_server, tmp_path: Path):
    foreign = redis_server.client()
    key = "foreign:asyncio:connection"
    foreign.set(key, "precious")
    script = tmp_path / "conn.py"
    script.write_text(CONNECTION.format(host="127.0.0.1", port=redis_server.port, key=key))
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", backend_spec])
    _check_stopped(result, foreign, key)
    assert "redis.asyncio.Connection" in result.stderr


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
