"""Long values are folded on the screen (a preview and the full size) and kept whole in a run file.

Three 10 MB values made a sub-second traced program take more than a minute and print 38 MB. The
time is measured by benchmarks/trace_long_values.py (as a ratio, never in a test); here, what a
learner sees and what a run file keeps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.records import (
    DictValue,
    FoldedBytes,
    FoldedStr,
    ListValue,
    Shortened,
    command_text,
    fold,
    fold_lines,
    fold_text,
    python_text,
    reply_text,
    size_text,
)
from redisqueue_tutor.run.tables import execution_row

runner = CliRunner()
TEN_MB = 10_000_000


# --------------------------------------------------------------------------------------------------
# Folding values


def test_a_long_str_or_bytes_is_its_beginning_and_its_size():
    assert python_text(fold("x" * TEN_MB)) == "'" + "x" * 32 + "…' (10 MB)"
    assert python_text(fold(b"y" * TEN_MB)) == "b'" + "y" * 32 + "…' (10 MB)"
    assert reply_text(fold(b"y" * TEN_MB)) == '"' + "y" * 32 + '…" (10 MB)'
    assert python_text(fold("é" * 300)) == "'" + "é" * 32 + "…' (600 bytes)"  # UTF-8 bytes
    assert command_text(("SET", "k", fold("z" * 2_500_000))) == "SET k '" + "z" * 32 + "…' (2.5 MB)"


def test_short_values_are_left_as_they_are():
    for value in ("task1", b"task1", "x" * 200, ListValue(["a"] * 20), None, 3, (b"q", b"t")):
        assert fold(value) == value and type(fold(value)) is type(value)
    assert python_text(fold(ListValue(["a", "b"]))) == "['a', 'b']"


def test_a_long_container_keeps_both_ends_and_says_its_length():
    queue = ListValue(f"job{i}" for i in range(100))
    shown = python_text(fold(queue))
    assert shown == (
        "['job0', 'job1', 'job2', 'job3', 'job4', …,"
        " 'job95', 'job96', 'job97', 'job98', 'job99'] (100 items)"
    )
    assert reply_text(fold(queue)).startswith('1) "job0"  2) "job1"')
    assert '… (90 more)  96) "job95"' in reply_text(fold(queue))
    pairs = fold(DictValue((f"f{i}", "v" * 300) for i in range(30)))
    assert isinstance(pairs, Shortened) and "(30 items)" in python_text(pairs)
    assert "…' (300 bytes)" in python_text(pairs)  # the values inside are folded too
    args = ("RPUSH", "jobs", *(f"job{i}" for i in range(1000)))
    assert command_text(args) == (
        "RPUSH jobs 'job0' 'job1' 'job2' 'job3' … (991 more) 'job995' 'job996' 'job997'"
        " 'job998' 'job999'"
    )


def test_folding_twice_changes_nothing_and_sizes_tell_values_apart():
    once = fold(ListValue(["x" * TEN_MB, "y" * 500]))
    assert fold(once) == once
    assert FoldedStr("x" * 32, TEN_MB) != FoldedStr("x" * 32, TEN_MB + 1)
    assert FoldedStr("x" * 32, TEN_MB) != "x" * 32
    assert FoldedBytes(b"x", 300) == FoldedBytes(b"x", 300)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1000, "1 kB"),
        (1500, "1.5 kB"),
        (999_949, "999.9 kB"),
        (999_950, "1 MB"),
        (TEN_MB, "10 MB"),
        (10_485_760, "10.5 MB"),
        (3 * 10**9, "3 GB"),
    ],
)
def test_sizes_read_as_people_say_them(size: int, text: str):
    assert size_text(size) == text


def test_printed_text_folds_long_lines_and_many_lines():
    assert fold_text("a\nb") == "a\nb"
    cell = fold_text("\n".join(str(i) for i in range(30)))
    assert cell.splitlines()[-1] == "… (30 lines)" and len(cell.splitlines()) == 11
    panel = fold_lines("short\n" + "x" * TEN_MB + "\nend")
    assert panel == "short\n" + "x" * 200 + "… (10 MB)\nend"
    assert fold_lines("x" * 1500) == "x" * 1500  # a long line of output is still shown whole


# --------------------------------------------------------------------------------------------------
# A traced program with three 10 MB values

PROGRAM = """\
import threading, redis
r = redis.Redis()
big = "x" * 10_000_000
p = r.pubsub()
p.subscribe("news")
def listen():
    for message in p.listen():
        if message["type"] == "message":
            print("got", len(message["data"]))
            return
t = threading.Thread(target=listen)
t.start()
r.set("a", big)
r.rpush("q", big)
r.publish("news", b"y" * 10_000_000)
t.join()
r.append("a", "!")
r.rpush("q", "small")
print(len(r.get("a")))
print(big)
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    script = tmp_path / "big.py"
    script.write_text(PROGRAM)
    return script


def test_the_table_shows_each_long_value_folded(program: Path, backend_spec: str):
    result = runner.invoke(app, ["trace", str(program), "--plain", "--backend", backend_spec])
    assert result.exit_code == 0, result.output[-2000:]
    out = result.stdout
    assert len(out) < 20_000  # it printed 118 MB
    assert out.count("x") < 2000 and out.count("y") < 1000
    assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (10 MB)" in out  # SET, RPUSH, the keys at the end
    assert "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…' (10 MB)" in out  # what the listener received
    assert "got 10000000" in out and "10000001" in out
    panel = out[out.index("The program's output") :]
    assert "x… (10 MB)" in panel  # the program's own print of the value, folded


def test_without_a_run_file_the_values_never_reach_the_tutor_whole(program, backend_spec):
    with running(backend_spec) as backend:
        run = trace_program(program, backend, TraceOptions())
    assert run.outcome.status == "finished", run.outcome
    values = [c.reply for s in run.steps for c in s.commands] + [k.value for k in run.keys]
    values += [a for s in run.steps for c in s.commands for a in c.args]
    assert max(len(v) for v in values if isinstance(v, str | bytes)) <= 200
    a = next(k for k in run.keys if k.key == "a")
    assert a.value == FoldedStr("x" * 32, TEN_MB + 1)  # the APPEND is seen: its size grew
    q = run.steps[-1].state_map["q"]
    assert q[0] == FoldedStr("x" * 32, TEN_MB) and q[1] == "small"
    assert len(run.stdout) < 1000


def test_a_run_file_keeps_every_value_whole(program: Path, backend_spec: str, tmp_path: Path):
    path = tmp_path / "run.json"
    result = runner.invoke(
        app, ["trace", str(program), "--plain", "--backend", backend_spec, "-o", str(path)]
    )
    assert result.exit_code == 0, result.output[-2000:]
    assert len(result.stdout) < 20_000  # the screen is folded all the same
    data = json.loads(path.read_text())
    sent = {c["args"][0]: c for s in data["steps"] for c in s["commands"] if c["args"]}
    assert sent["SET"]["args"][2] == "x" * TEN_MB
    assert sent["PUBLISH"]["args"][2] == "y" * TEN_MB
    heard = [c["reply"] for s in data["steps"] for c in s["commands"] if not c["args"]]
    assert {"bytes": "y" * TEN_MB} in [h[2] for h in heard if h[0] == {"bytes": "message"}]
    keys = {k["key"]: k["value"] for k in data["keys"]}
    assert keys["a"] == "x" * TEN_MB + "!"  # the tutor reads the keys as text
    assert keys["q"] == ["x" * TEN_MB, "small"]
    # Each step's state is whole too, also where the tracer did not send an unchanged key again.
    states = {
        s["commands"][0]["args"][0]: dict(s["state"])["q"]
        for s in data["steps"]
        if s["commands"][0]["args"]
    }
    assert states["APPEND"] == ["x" * TEN_MB]  # q unchanged at that step: not sent again
    assert states["GET"] == ["x" * TEN_MB, "small"]
    assert ("x" * TEN_MB) in data["stdout"]
    # Whole values add up (each step keeps its lists): past what `tutor step --from` reads, a
    # warning says so when the file is written.
    assert path.stat().st_size > 100_000_000
    assert "more than the 100 MB that `tutor step --from` reads" in result.stderr


def test_a_run_file_replays_folded(tmp_path: Path):
    script = tmp_path / "one.py"
    script.write_text(
        "import redis\nr = redis.Redis()\nr.rpush('q', 'x' * 10_000_000)\nprint(r.llen('q'))\n"
    )
    path = tmp_path / "run.json"
    result = runner.invoke(app, ["trace", str(script), "--plain", "-o", str(path)])
    assert result.exit_code == 0 and not result.stderr, result.output[-2000:]
    assert json.loads(path.read_text())["keys"][0]["value"] == ["x" * TEN_MB]
    replay = runner.invoke(app, ["step", "--from", str(path), "--plain"])
    assert replay.exit_code == 0, replay.output[-2000:]
    assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (10 MB)" in replay.stdout
    assert replay.stdout.count("x") < 2000


def test_a_folded_value_in_a_row_is_a_bounded_cell(program: Path):
    with running("fake") as backend:
        run = trace_program(program, backend, TraceOptions(whole=True))
    assert len(run.keys[0].value) >= TEN_MB  # whole in the run
    for record in run.steps:
        cells = execution_row(record, frozenset(run.key_names)).cells()
        assert max(len(cell) for cell in cells) < 1000
