"""`tutor trace` shows what Redis received and holds: bytes that are not text, str enums, control
characters and separate databases; and its state view reads only what a command changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.runfile import Run, read_run, write_run
from redisqueue_tutor.run.tables import execution_row
from tests.conftest import all_keys

# A program as RQ and any cache write them: a str Enum for a status, zlib-compressed pickles,
# a value with terminal control characters, and a second database.
PROGRAM = """\
import enum, pickle, zlib, redis
from redis import Redis

class JobStatus(str, enum.Enum):
    QUEUED = "queued"

r = Redis({where})
r.set("status", JobStatus.QUEUED)
r.set("blob", zlib.compress(pickle.dumps({{"a": 1}})))
r.set("ctl", "a\\x1b[31mred\\x07b")
print(r.get("status"), pickle.loads(zlib.decompress(r.get("blob"))))
other = Redis({where_db2})
other.set("status", "other")
print(r.get("status"), other.get("status"))
"""


def _program(tmp_path: Path, where: str = "", where_db2: str = "db=2") -> Path:
    script = tmp_path / "values.py"
    script.write_text(PROGRAM.format(where=where, where_db2=where_db2))
    return script


def _trace(script: Path, spec: str) -> Run:
    with running(spec) as backend:
        return trace_program(script, backend, TraceOptions(timeout=30))


def _cells(run: Run) -> str:
    keys = frozenset(run.key_names)
    return "\n".join(" | ".join(execution_row(r, keys).cells()) for r in run.steps)


EXPECTED_OUTPUT = "b'queued' {'a': 1}\nb'queued' b'other'\n"


def test_values_show_what_redis_received(backend_spec, tmp_path):
    run = _trace(_program(tmp_path), backend_spec)
    assert run.outcome.status == "finished", run.outcome
    assert run.stdout == EXPECTED_OUTPUT
    cells = _cells(run)
    # The enum's value, as redis-py sends it; never its Python name.
    assert "SET status 'queued'" in cells
    assert "JobStatus" not in cells.replace("JobStatus.QUEUED)", "")
    # Bytes that are not text, as Python writes them; the reply as redis-cli escapes it.
    assert "SET blob b'x\\x9c" in cells
    assert '"x\\x9c' in cells
    # Control characters as escapes: nothing in a cell moves the terminal's cursor or colour.
    assert "\x1b" not in cells and "\x07" not in cells
    assert "'a\\x1b[31mred\\x07b'" in cells
    keys = {k.key: k.value for k in run.keys}
    assert isinstance(keys["blob"], bytes) and keys["blob"].startswith(b"x\x9c")
    # Two databases stay two.
    assert keys["status"] == "queued"
    assert keys["status (db 2)"] == "other"


def test_a_run_file_keeps_binary_arguments(tmp_path):
    run = _trace(_program(tmp_path), "fake")
    saved = tmp_path / "run.json"
    write_run(run, saved)
    again = read_run(saved)
    assert _cells(again) == _cells(run)
    blob = next(c for r in again.steps for c in r.commands if c.args[:2] == ("SET", "blob"))
    assert isinstance(blob.args[2], bytes)


@pytest.mark.real
def test_every_database_the_program_used_is_left_clean(start_server, tmp_path):
    server = start_server()
    foreign = server.client()
    foreign.set("status", "theirs")
    server.client(db=2).set("status", "theirs too")
    run = _trace(_program(tmp_path), server.url)
    assert run.stdout == EXPECTED_OUTPUT
    assert all_keys(foreign) == {b"status"}
    assert all_keys(server.client(db=2)) == {b"status"}
    assert server.client(db=2).get("status") == b"theirs too"


@pytest.mark.real
def test_the_program_run_plainly_prints_the_same(start_server, tmp_path):
    server = start_server()
    where = f'host="127.0.0.1", port={server.port}'
    plain = _program(tmp_path, where, f"{where}, db=2")
    result = subprocess.run(
        [sys.executable, str(plain)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_OUTPUT


def _commandstats(client) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.mark.real
def test_the_state_view_reads_only_the_keys_a_command_wrote(start_server, tmp_path):
    """The view's reads grow with the keys written, not with steps times keys named: 200 SETs of
    distinct keys and 200 GETs cost at most one TYPE per written key, and a key set 1,000 times
    is read once per FLUSH_EVERY, not 1,000 times (the old view read every key named so far after
    every command: over 40,000 reads here)."""
    server = start_server()
    script = tmp_path / "many.py"
    script.write_text(
        "import redis\nr = redis.Redis()\n"
        "for i in range(200):\n    r.set(f'k{i}', i)\n"
        "for i in range(200):\n    r.get(f'k{i}')\n"
        "for i in range(1000):\n    r.hset('h', 'n', i)\n"
        "r.set('ttl', 1, ex=100)\n"
    )
    watcher = server.client()
    watcher.config_resetstat()  # the test's own server
    run = _trace(script, server.url)
    assert run.outcome.status == "finished", run.outcome
    stats = _commandstats(watcher)
    assert stats["set"] == 201 + 1  # and the run's lease (backend.RedisBackend)
    assert stats["hset"] == 1000
    assert 202 <= stats["type"] < 202 + 100
    assert stats.get("hgetall", 0) < 100
    # The program's own, one read per string key, and the key with a time to live read again at
    # the end (it may have expired by itself).
    assert stats["get"] <= 200 + 201 + 2
    keys = {k.key: k.value for k in run.keys}
    assert len(keys) == 202
    assert dict(keys["h"]) == {"n": "999"}
    assert keys["k199"] == "199"


def test_list_state_is_read_after_every_step_that_changes_it(tmp_path):
    script = tmp_path / "lists.py"
    script.write_text(
        "import redis\nr = redis.Redis()\n"
        "for i in range(5):\n    r.rpush('q', i)\n    r.set('other', i)\n"
        "r.rename('q', 'moved')\nr.lpop('moved')\n"
    )
    run = _trace(script, "fake")
    queue = [r.state_map.get("q") for r in run.steps]
    assert queue[:9:2] == [
        ("0",),
        ("0", "1"),
        ("0", "1", "2"),
        ("0", "1", "2", "3"),
        ("0", "1", "2", "3", "4"),
    ]
    assert run.steps[-2].state_map["moved"] == ("0", "1", "2", "3", "4")
    assert run.steps[-1].state_map["moved"] == ("1", "2", "3", "4")
    assert {k.key: k.value for k in run.keys}["other"] == "4"


def test_a_long_run_shows_its_last_steps_and_a_summary(tmp_path):
    from typer.testing import CliRunner

    from redisqueue_tutor.cli import app

    script = tmp_path / "long.py"
    script.write_text(
        "import redis\nr = redis.Redis()\n"
        "for i in range(150):\n    r.rpush('q', i)\nfor i in range(60):\n    r.set(f'k{i}', i)\n"
    )
    saved = tmp_path / "run.json"
    result = CliRunner().invoke(app, ["trace", str(script), "--plain", "-o", str(saved)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "210 commands in 210 steps (RPUSH 150, SET 60)" in out
    assert "The first 110 steps are not shown" in out
    assert "RPUSH q '109'" not in out and "RPUSH q '110'" in out  # step 111 is the first shown
    assert "11 more keys" in out  # q and 60 strings: 50 shown
    assert len(read_run(saved).steps) == 210  # --output keeps every step
