"""`tutor trace`: learners' own programs, run for real on both backends, drawn as lessons are."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.runfile import Run, read_run
from redisqueue_tutor.run.tables import execution_row
from tests.conftest import ROOT, all_keys, golden

SCRIPTS = ROOT / "tests" / "scripts"
runner = CliRunner()


def traced(name: str, spec: str, **options: object) -> Run:
    with running(spec) as backend:
        return trace_program(SCRIPTS / name, backend, TraceOptions(**options))  # type: ignore[arg-type]


def rows(run: Run) -> list[tuple[str, ...]]:
    keys = frozenset(run.key_names)
    return [execution_row(r, keys).cells()[1:] for r in run.steps]


def commands(run: Run) -> list[tuple[str, str, object]]:
    return [(c.client, " ".join(c.args), c.reply) for r in run.steps for c in r.commands]


def test_queue_seed_gives_the_seed_table(backend_spec):
    run = traced("seed_queue.py", backend_spec)
    assert run.outcome.status == "finished"
    assert commands(run) == [
        ("r", "LPUSH queue task1", 1),
        ("r", "LPUSH queue task2", 2),
        ("r", "RPOP queue", b"task1"),
        ("r", "RPOP queue", b"task2"),
        ("r", "RPOP queue", None),
    ]
    assert [r.state_map["queue"] for r in run.steps] == [
        ("task1",),
        ("task2", "task1"),
        ("task2",),
        (),
        (),
    ]
    assert [r.output for r in run.steps] == ["", "", "task1", "task2", "None"]
    assert run.steps[0].action == 'line 6: r.lpush("queue", "task1")'
    assert run.stdout == "task1\ntask2\nNone\n"


def test_pubsub_seed_shows_the_listener_thread_receiving_each_message(backend_spec):
    run = traced("seed_pubsub.py", backend_spec, fast=True)
    assert run.outcome.status == "finished"
    assert run.lanes == ("listen", "r")
    assert commands(run) == [
        ("listen", "SUBSCRIBE notifications", (b"subscribe", b"notifications", 1)),
        ("r", "PUBLISH notifications Notification 1", 1),
        ("listen", "", (b"message", b"notifications", b"Notification 1")),
        ("r", "PUBLISH notifications Notification 2", 1),
        ("listen", "", (b"message", b"notifications", b"Notification 2")),
        ("r", "PUBLISH notifications Notification 3", 1),
        ("listen", "", (b"message", b"notifications", b"Notification 3")),
    ]
    assert [r.output for r in run.steps][1:3] == [
        "Sent: Notification 1",
        "Received: Notification 1",
    ]
    assert list(run.received()) == ["listen"]
    # Each row names the line that sent its command (SUBSCRIBE is sent by subscribe(), its reply
    # read later by listen()); a received message names the line that read it.
    assert [r.action for r in run.steps][:3] == [
        'line 13: pubsub.subscribe("notifications")',
        'line 24: r.publish("notifications", text)',
        "line 14: for message in pubsub.listen():",
    ]


@pytest.mark.parametrize("script", ["seed_queue.py", "seed_pubsub.py"])
def test_both_backends_give_the_golden_table(script, backend_spec):
    # The same golden rows on both backends: equal, and not equally wrong.
    run = traced(script, backend_spec, fast=True)
    text = "".join(" | ".join(cells) + "\n" for cells in rows(run))
    golden(f"trace-{script.removesuffix('.py')}-rows.txt", text)


SLEEPER = """\
import time, redis
r = redis.Redis()
for tick in range(3):
    r.rpush("ticks", tick)
    time.sleep(10)
    print(f"slept after tick {tick}")
"""


def test_fast_makes_the_programs_sleeps_return_at_once(tmp_path: Path):
    # 30 s of sleeps within a 20 s timeout: the program finishes only if each sleep was skipped,
    # and it printed after each one: they were called, in order, and returned.
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    saved = tmp_path / "run.json"
    options = ["--plain", "--timeout", "20", "-o", str(saved)]
    fast = runner.invoke(app, ["trace", str(script), "--fast", *options])
    assert fast.exit_code == 0, fast.output
    run = read_run(saved)
    assert run.outcome.status == "finished", run.outcome
    assert run.stdout == "slept after tick 0\nslept after tick 1\nslept after tick 2\n"
    assert [" ".join(c.args) for r in run.steps for c in r.commands] == [
        f"RPUSH ticks {tick}" for tick in range(3)
    ]
    # Each row shows what the program printed after its RPUSH: the sleep that followed returned.
    assert [r.output for r in run.steps] == [f"slept after tick {tick}" for tick in range(3)]

    # Without --fast the same program really sleeps: the timeout stops it in its first sleep.
    slow = runner.invoke(app, ["trace", str(script), "--plain", "--timeout", "1"])
    assert slow.exit_code == 124, slow.output
    assert "RPUSH ticks '0'" in slow.stdout and "slept after" not in slow.stdout


def test_threaded_producer_and_consumer(backend_spec):
    run = traced("threaded.py", backend_spec)
    assert run.outcome.status == "finished"
    sent = commands(run)
    pushes = [c for c in sent if c[1].startswith("LPUSH")]
    pops = [c for c in sent if c[1].startswith("BRPOP")]
    assert {c[0] for c in pushes} == {"producer"} and {c[0] for c in pops} == {"consumer"}
    assert [c[1] for c in pushes] == [f"LPUSH jobs {j}" for j in ("job1", "job2", "job3", "stop")]
    assert [c[2] for c in pops] == [("jobs", j) for j in ("job1", "job2", "job3", "stop")]
    assert run.steps[-1].state_map["jobs"] == ()
    assert run.stdout == "done job1\ndone job2\ndone job3\n"


def test_pipeline_is_one_step_of_its_commands(backend_spec):
    run = traced("pipeline.py", backend_spec)
    first = run.steps[0]
    assert [(" ".join(c.args), c.reply) for c in first.commands] == [
        ("RPUSH queue a", 1),
        ("RPUSH queue b", 2),
        ("LLEN queue", 2),
    ]
    assert first.action == "line 10: print(pipe.execute())"
    assert first.state_map["queue"] == ("a", "b")
    assert run.steps[1].output == "a"


def test_transaction_shows_multi_queued_and_exec(backend_spec):
    run = traced("transaction.py", backend_spec)
    tx = run.steps[1]
    assert [(c.name, c.reply) for c in tx.commands] == [
        ("MULTI", "OK"),
        ("LPOP", "QUEUED"),
        ("RPUSH", "QUEUED"),
        ("EXEC", ("task1", 1)),
    ]
    assert tx.state == (("queue", ("task2",)), ("processing", ("task1",)))


def test_a_program_that_never_ends_is_stopped_and_keeps_its_table(backend_spec):
    before = {t.ident for t in threading.enumerate()}
    run = traced("forever.py", backend_spec, timeout=1.5)
    assert run.outcome.status == "timeout"
    assert [c[1] for c in commands(run)] == ["RPUSH queue ready", "SUBSCRIBE news"]
    assert "listening" in run.stdout
    assert {t.ident for t in threading.enumerate()} <= before


def test_an_error_inside_a_redis_call_shows_the_programs_frames_not_the_tutors(backend_spec):
    run = traced("wrongtype.py", backend_spec)
    assert run.outcome.status == "error"
    assert "WRONGTYPE" in run.outcome.message and "line 7" in run.outcome.message
    assert "Traceback" in run.stderr and "wrongtype.py" in run.stderr
    assert "redisqueue_tutor" not in run.stderr  # the recorder's and the gate's frames are library


def test_a_program_that_raises_gives_its_error_line_and_the_table_so_far(backend_spec):
    run = traced("raises.py", backend_spec)
    assert run.outcome.status == "error"
    assert run.outcome.message == (
        "line 9: AttributeError: 'NoneType' object has no attribute 'decode'"
    )
    assert len(run.steps) == 3
    assert "Traceback" in run.stderr and "redisqueue_tutor" not in run.stderr


@pytest.mark.real
def test_real_server_keys_are_namespaced_and_removed(redis_server):
    client = redis_server.client()
    run = traced("transaction.py", redis_server.url)
    assert run.keys and {k.key for k in run.keys} == {"queue", "processing"}
    assert all(b"tutor:{" not in str(c.args).encode() for r in run.steps for c in r.commands)
    assert not all_keys(client, "tutor:{*}:queue")
    assert not all_keys(client, "queue")


def test_dangerous_commands_are_refused(tmp_path, backend_spec):
    script = tmp_path / "flush.py"
    script.write_text("import redis\nr = redis.Redis()\nr.rpush('q', 'a')\nr.flushall()\n")
    result = runner.invoke(app, ["trace", str(script), "--plain", "--backend", backend_spec])
    assert result.exit_code == 2
    assert "FLUSHALL" in result.stderr and "Traceback" not in result.output


def test_a_command_of_a_shape_seen_before_is_still_checked(tmp_path, backend_spec):
    # The tracer remembers where SET's key is after the first SET (tracer.prefix); the next one,
    # with an empty name, is refused all the same, and the first one's key stays the run's.
    script = tmp_path / "empty.py"
    script.write_text("import redis\nr = redis.Redis()\nr.set('a', 1)\nr.set('', 2)\n")
    with running(backend_spec) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=20))
    assert run.outcome.status == "refused", run.outcome
    assert "SET names the key ''" in run.outcome.message
    assert [" ".join(r.commands[0].args) for r in run.steps] == ["SET a 1"]


# --------------------------------------------------------------------------------------------------
# The command


def test_cli_prints_the_table_then_the_program_output(backend_spec):
    result = runner.invoke(
        app, ["trace", str(SCRIPTS / "seed_queue.py"), "--plain", "--backend", backend_spec]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "LPUSH queue 'task1' -> (integer) 1" in out
    assert "RPOP queue -> (nil)" in out
    assert out.index("Execution table") < out.index("The program's output")
    assert "\x1b[" not in out


def test_cli_exit_codes_and_one_line_errors(tmp_path):
    assert runner.invoke(app, ["trace", str(SCRIPTS / "raises.py")]).exit_code == 1
    timed = runner.invoke(app, ["trace", str(SCRIPTS / "forever.py"), "--timeout", "1"])
    assert timed.exit_code == 124
    # It says where the program was when it stopped it.
    assert "Where it was: line 10: for message in pubsub.listen():" in " ".join(
        timed.stdout.split()
    )
    missing = runner.invoke(app, ["trace", str(tmp_path / "nope.py")])
    assert (
        missing.exit_code == 2
        and missing.stderr.startswith("Error: ")
        and "no such file" in (missing.stderr)
    )
    bad = tmp_path / "bad.py"
    bad.write_text("import redis\nr = redis.Redis(\n")
    syntax = runner.invoke(app, ["trace", str(bad)])
    assert syntax.exit_code == 2 and f"{bad}:2" in syntax.stderr
    assert len(syntax.stderr.strip().splitlines()) == 1
    down = runner.invoke(
        app, ["trace", str(SCRIPTS / "seed_queue.py"), "--backend", "redis://127.0.0.1:1/0"]
    )
    assert down.exit_code == 3 and down.stderr.startswith("Error: cannot reach Redis")


def test_output_file_replays_with_step_from(tmp_path):
    path = tmp_path / "run.json"
    result = runner.invoke(
        app, ["trace", str(SCRIPTS / "seed_pubsub.py"), "--fast", "--plain", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert data["format"] == "tutor-run" and data["version"] == 1
    assert data["steps"][2]["commands"][0]["reply"][2] == {"bytes": "Notification 1"}
    run = read_run(path)
    assert run.steps[2].commands[0].reply == (b"message", b"notifications", b"Notification 1")
    replay = runner.invoke(app, ["step", "--from", str(path), "--plain"])
    assert replay.exit_code == 0, replay.output
    steps = [int(n) for n in re.findall(r"^Step (\d) of 7", replay.stdout, re.M)]
    assert steps == list(range(1, 8))
    assert "listen receives" in replay.stdout and "Received: Notification 3" in replay.stdout


def test_step_from_a_bad_file_is_one_line(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"format": "tutor-run", "version": 99}')
    result = runner.invoke(app, ["step", "--from", str(path)])
    assert result.exit_code == 2
    assert "version 99" in result.stderr and "Traceback" not in result.output


def test_trace_step_piped_shows_each_command_in_turn():
    result = runner.invoke(app, ["trace", str(SCRIPTS / "seed_queue.py"), "--step", "--plain"])
    assert result.exit_code == 0
    assert re.findall(r"^Step (\d) of 5", result.stdout, re.M) == ["1", "2", "3", "4", "5"]


def test_readable_at_60_columns():
    env = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "redisqueue_tutor", "trace", str(SCRIPTS / "seed_pubsub.py")]
        + ["--fast"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 60
    assert "\x1b[" not in result.stdout


def test_script_arguments_are_passed_on(tmp_path: Path):
    script = tmp_path / "args.py"
    script.write_text("import sys, redis\nredis.Redis().rpush('q', *sys.argv[1:])\n")
    run_result = runner.invoke(app, ["trace", str(script), "--plain", "x", "y"])
    assert run_result.exit_code == 0, run_result.output
    assert "RPUSH q 'x' 'y'" in run_result.stdout


# The seeds connect to localhost:6379 as a learner's program would; a plain run is pointed at the
# test's own server by rewriting that one line in a copy (the tests never touch port 6379).
CONNECTIONS = {
    "seed_queue.py": "r = redis.Redis()\n",
    "seed_pubsub.py": 'r = redis.Redis(host="localhost", port=6379, db=0)\n',
}


@pytest.mark.real
@pytest.mark.parametrize("name", ["seed_queue.py", "seed_pubsub.py"])
def test_seed_programs_run_plainly_and_print_what_the_trace_printed(name, start_server, tmp_path):
    server = start_server()
    source = (SCRIPTS / name).read_text()
    assert source.count(CONNECTIONS[name]) == 1
    plain = tmp_path / name
    plain.write_text(
        source.replace(
            CONNECTIONS[name], f'r = redis.Redis(host="127.0.0.1", port={server.port})\n'
        )
    )
    result = subprocess.run(
        [sys.executable, str(plain)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    traced_run = traced(name, server.url, fast=True)
    assert traced_run.outcome.status == "finished"
    if name == "seed_queue.py":
        assert result.stdout == traced_run.stdout == "task1\ntask2\nNone\n"
        return
    # Without the tracer's turns the listener races the first PUBLISH, as in any plain run: the
    # first message may be lost (the lesson's point); each later one comes a second after the
    # last. The two threads' prints may share a line (print writes the text, then the newline).
    said = re.findall(r"(?:Sent|Received): Notification \d", result.stdout)
    traced_said = traced_run.stdout.splitlines()
    sent = [line for line in traced_said if line.startswith("Sent")]
    received = [line for line in traced_said if line.startswith("Received")]
    assert sent == [f"Sent: Notification {i}" for i in (1, 2, 3)]
    assert received == [f"Received: Notification {i}" for i in (1, 2, 3)]  # traced: none lost
    assert [line for line in said if line.startswith("Sent")] == sent
    assert [line for line in said if line.startswith("Received")] in (received, received[1:])


def test_the_embedded_target_describes_itself_as_the_embedded_backend():
    # The tutor's side of an embedded trace does not open a FakeBackend (the program's process
    # runs the server): what it says of it is the same.
    from redisqueue_tutor.modes.trace import EmbeddedTarget, is_embedded
    from redisqueue_tutor.run.backend import FakeBackend, Namespace, open_backend

    fake = FakeBackend()
    assert EmbeddedTarget().describe() == fake.describe()
    fake.close()
    target = EmbeddedTarget()
    assert target.namespace.prefix != EmbeddedTarget().namespace.prefix
    assert Namespace(target.namespace.prefix).run_id  # a run's namespace, as Namespace.new makes
    for spec in (None, "", " fake "):
        assert is_embedded(spec) and isinstance(open_backend(spec), FakeBackend)
    assert not is_embedded("redis://127.0.0.1:1/0")


PIPELINE_WITH_AN_ERROR = """\
import redis

r = redis.Redis(decode_responses=True)
p = r.pipeline(transaction=False)
p.set("s", "x")
p.lpush("s", "boom")
p.set("after", "1")
p.get("after")
print(p.execute(raise_on_error=False)[2:])
"""


def test_a_pipeline_whose_command_fails_shows_every_command(tmp_path, backend_spec):
    # Redis answers WRONGTYPE for one command and runs the others: the step shows them all, and
    # the key the failed LPUSH named is no list.
    script = tmp_path / "pipe_error.py"
    script.write_text(PIPELINE_WITH_AN_ERROR)
    with running(backend_spec) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=20))
    assert run.outcome.status == "finished", run.outcome
    (step,) = run.steps
    assert [" ".join(c.args) for c in step.commands] == [
        "SET s x",
        "LPUSH s boom",
        "SET after 1",
        "GET after",
    ]
    assert step.commands[1].error and "WRONGTYPE" in step.commands[1].error
    assert step.commands[3].reply == "1"
    assert "s" not in run.lists
    assert run.stdout == "[True, '1']\n"


AT_EXIT = """\
import atexit, logging, logging.handlers, sys
import redis

redis.Redis().set("k", "v")
log = logging.getLogger("app")
log.addHandler(logging.handlers.MemoryHandler(100, target=logging.StreamHandler(sys.stdout)))
log.setLevel(logging.INFO)
log.info("kept until logging shuts down")
atexit.register(lambda: sys.stdout.write("bye, without a newline"))
"""


def test_what_the_program_writes_at_exit_is_kept(tmp_path):
    # The program's process ends without tearing its interpreter down (child._end), but only after
    # every other exit handler: logging's shutdown and the program's own.
    script = tmp_path / "at_exit.py"
    script.write_text(AT_EXIT)
    with running(None) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=20))
    assert run.outcome.status == "finished", run.outcome
    # In the order Python runs them, as in a plain run: the last registered first.
    assert run.stdout == "bye, without a newlinekept until logging shuts down\n"


def test_the_program_finds_the_garbage_collector_on(tmp_path):
    # The tracer's imports run with the collector held off (collector.py); the program itself
    # runs with it on, as in a plain run, and its cycles are collected.
    script = tmp_path / "cycles.py"
    script.write_text(
        "import gc, weakref\n"
        "class Node: pass\n"
        "a = Node(); a.me = a; gone = weakref.ref(a); del a\n"
        "gc.collect()\n"
        "print(gc.isenabled(), gone() is None)\n"
    )
    with running(None) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=20))
    assert run.outcome.status == "finished", run.outcome
    assert run.stdout == "True True\n"


LATER = """\
import io, sys
import redis
import redisqueue_tutor.modes.trace.child as child
import redisqueue_tutor.modes.trace.state as view
from redisqueue_tutor.modes.trace.endpoint import Endpoint
from redisqueue_tutor.modes.trace.pipe import Events, FrameReader
from redisqueue_tutor.modes.trace.tracer import Tracer

view.FLUSH_EVERY = 3600  # no flush of the other keys falls due during the test
backend = child._backend({"kind": "real", "url": sys.argv[1], "prefix": "tutor:{t}:", "fast": False})
out = io.BytesIO()
tracer = child.state.TRACER = Tracer(backend, Events(out), "/nowhere.py", False)
endpoint = Endpoint(tracer)
child.install()
tracer.defers = sys.argv[2] == "later"
r = redis.Redis()
left = []
for send in (
    lambda: r.set("a", "1"),
    lambda: r.lpush("q", "x", "y"),
    lambda: r.rpop("q"),
    lambda: r.hset("h", "f", "v"),
    lambda: r.delete("a"),  # DEL: the type of what it removed is read at once
):
    send()
    left.append(tracer._later is not None)
tracer.keys_at_end()
tracer.events.flush()
endpoint.close()
events = list(FrameReader().feed(out.getvalue()))
print(repr((left, [(e["commands"], e["keys"]) for e in events if e["type"] == "step"])))
# The next run starts from the same keys (the state view's own client: not the program's).
tracer.state.observer_for(0).delete("tutor:{t}:q", "tutor:{t}:h")
child._FINAL["status"] = 0  # the module's last exit handler ends the process with it
"""


@pytest.mark.real
def test_a_step_worked_out_while_the_next_command_travels_is_the_same_step(redis_server, tmp_path):
    # On a real server a step whose keys need no read of their own is worked out once the next
    # command is sent (tracer.step's `later`): off the program's path, with the same frame.
    def steps(mode: str) -> tuple[list[bool], list[object]]:
        done = subprocess.run(
            [sys.executable, "-c", LATER, redis_server.url, mode],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return ast.literal_eval(done.stdout)

    left, later = steps("later")
    now_left, now = steps("now")
    assert left == [True, True, True, True, False]
    assert now_left == [False] * 5
    assert later == now
    assert [c[0][1][0] for c, _keys in later] == ["SET", "LPUSH", "RPOP", "HSET", "DEL"]
    assert later[1][1] == [["q", "list", ["y", "x"]]]  # the list as read with its command


def test_names_with_control_bytes_show_what_redis_received(tmp_path):
    # kombu's priority queues are named 'celery\x06\x163': the Queue column, the tracker and the
    # keys at the end write the bytes as escapes, as the command column does.
    script = tmp_path / "kombu_names.py"
    script.write_text(
        'import redis\nr = redis.Redis()\nr.lpush("celery", "a")\nr.lpush("celery\\x06\\x163", "b")\n'
    )
    result = runner.invoke(app, ["trace", str(script), "--plain"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "\x06" not in result.output and "\x16" not in result.output
    assert "celery\\x06\\x163=['b']" in result.output  # the Queue column
    assert result.output.count("celery\\x06\\x163") >= 4  # the command, tracker and keys too


STEADY = """\
import redis
r = redis.Redis(decode_responses=True)
for i in range(1500):
    r.lpush("q", i)
    r.rpop("q")
"""

ENDS_AT_ONCE = """\
import os, time, redis
r = redis.Redis(decode_responses=True)
r.set("warm", 1)
time.sleep(0.3)
r.lpush("jobs", "last")
print("bye")
os._exit(0)
"""

NAME_BOTH = """\
import redis
r = redis.Redis(decode_responses=True)
r.set("warm", 1)
r.lpush("news", "x")
r.publish("news", "hi")
"""

FORKS_WHILE_BUSY = """\
import os, signal, time, redis
r = redis.Redis()
r.rpush("big", *range(20000))
hung = 0
for i in range(25):
    r.lrange("big", 0, -1)
    started = time.monotonic()
    while time.monotonic() - started < 0.052:
        pass  # the program's own work, while the tutor's thread works out the last step
    pid = os.fork()
    if pid == 0:
        r.ping()
        os._exit(0)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not os.waitpid(pid, os.WNOHANG)[0]:
        time.sleep(0.01)
    if time.monotonic() >= deadline:
        hung += 1
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
print("forks that hung:", hung)
"""


def _traced(tmp_path, url: str, source: str, name: str, timeout: float = 60):
    script = tmp_path / name
    script.write_text(source)
    with running(url) as backend:
        return trace_program(script, backend, TraceOptions(timeout=timeout))


@pytest.mark.real
def test_every_step_shows_its_own_list_while_steps_are_worked_out_later(redis_server, tmp_path):
    # A flush of the other keys falls due every FLUSH_EVERY seconds: a step worked out after the
    # next command was sent never reads the server, so it never shows that command's effect.
    run = _traced(tmp_path, redis_server.url, STEADY, "steady.py")
    assert run.outcome.status == "finished", run.outcome
    wrong = [
        (r.number, r.commands[0].args, r.state)
        for r in run.steps
        if list(dict(r.state).get("q", ()))
        != ([] if r.commands[0].args[0] == "RPOP" else [str(r.number // 2)])
    ]
    assert len(run.steps) == 3000
    assert wrong == []


@pytest.mark.real
def test_a_program_that_ends_with_os_exit_keeps_its_last_step_and_output(redis_server, tmp_path):
    run = _traced(tmp_path, redis_server.url, ENDS_AT_ONCE, "ends.py")
    assert [r.commands[0].args[0] for r in run.steps] == ["SET", "LPUSH"]
    assert run.stdout == "bye\n"


@pytest.mark.real
def test_a_list_named_like_a_channel_later_shows_its_items(redis_server, tmp_path):
    run = _traced(tmp_path, redis_server.url, NAME_BOTH, "both.py")
    lpush = next(r for r in run.steps if r.commands[0].args[0] == "LPUSH")
    assert dict(lpush.state)["news"] == ("x",)


@pytest.mark.real
def test_a_fork_never_inherits_a_step_half_worked_out(redis_server, tmp_path):
    run = _traced(tmp_path, redis_server.url, FORKS_WHILE_BUSY, "forks.py", timeout=120)
    assert run.outcome.status == "finished", (run.outcome, run.stderr)
    assert "forks that hung: 0" in run.stdout
