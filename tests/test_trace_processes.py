"""Every process a traced program starts is stopped when the trace ends, escaped or not.

A child that left the program's process group (setsid, a daemon's double fork, a Popen with
start_new_session) used to survive the trace, write into the run's namespace after the tutor had
removed it, and never be reaped. The tutor is now the subreaper of the program's processes
(Linux), and stops each of them before the namespace is removed.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.modes.trace import TraceOptions, trace_program
from redisqueue_tutor.modes.trace.processes import ProgramProcesses
from redisqueue_tutor.run.backend import running
from tests.conftest import all_keys, installed_tutor

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a child subreaper is Linux's"
)
runner = CliRunner()

# The grandchild escapes (setsid, then a second fork whose parent exits at once), says its pid,
# and a second later writes a key through the program's client: into the run's namespace, which
# the tutor removes as soon as the program's main process has ended.
DAEMON = """\
import os, sys, time, redis
pidfile, close = sys.argv[1], sys.argv[2] == "close"
r = redis.Redis()
r.rpush("jobs", "job1")
child = os.fork()
if child == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    if close:  # let go of the tutor's pipes, as a daemon does
        os.closerange(3, 1024)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(pidfile + ".tmp", pidfile)
    time.sleep(1)
    redis.Redis().rpush("late", "written after the trace")
    time.sleep(60)
    os._exit(0)
os.waitpid(child, 0)
while not os.path.exists(pidfile):
    time.sleep(0.01)
print("main done")
"""

POPEN = """\
import subprocess, sys, redis
redis.Redis().rpush("jobs", "job1")
worker = subprocess.Popen(["sleep", "60"], start_new_session=True)
plain = subprocess.Popen(["sleep", "61"])
with open(sys.argv[1], "w") as f:
    f.write(f"{worker.pid} {plain.pid}")
print("started", "worker")
"""


def _gone(pid: int) -> bool:
    """Neither running nor a zombie waiting to be reaped (kill 0 still reaches a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _pids(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()]


@pytest.mark.real  # on both backends the tests' redis-server is where the late key would land
@pytest.mark.parametrize("close", ["close", "keep"], ids=["closes-its-pipes", "keeps-its-pipes"])
def test_a_double_forked_daemon_is_stopped_before_the_namespace_is_removed(
    close: str, backend_spec: str, redis_server, tmp_path: Path
):
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON)
    pidfile = tmp_path / "daemon.pid"
    with running(backend_spec) as backend:
        run = trace_program(script, backend, TraceOptions(timeout=10, args=(str(pidfile), close)))
    # It finished: the daemon holding the program's output does not make it a timeout.
    assert run.outcome.status == "finished", run.outcome
    assert "main done" in run.stdout
    (pid,) = _pids(pidfile)
    assert _gone(pid)
    time.sleep(1.5)  # past the moment the daemon would have written
    assert not all_keys(redis_server.client(), "*late*")


def test_a_new_session_started_with_popen_is_stopped(backend_spec: str, tmp_path: Path):
    script = tmp_path / "popen.py"
    script.write_text(POPEN)
    pidfile = tmp_path / "workers"
    result = runner.invoke(
        app, ["trace", str(script), "--plain", "--backend", backend_spec, "--", str(pidfile)]
    )
    assert result.exit_code == 0, result.output
    assert all(_gone(pid) for pid in _pids(pidfile))


def test_a_program_stopped_by_the_timeout_takes_its_escaped_children_with_it(tmp_path: Path):
    script = tmp_path / "stuck.py"
    script.write_text(POPEN.replace('print("started", "worker")', "import time\ntime.sleep(60)"))
    pidfile = tmp_path / "workers"
    with running("fake") as backend:
        run = trace_program(script, backend, TraceOptions(timeout=1.5, args=(str(pidfile),)))
    assert run.outcome.status == "timeout"
    assert all(_gone(pid) for pid in _pids(pidfile))


def _is_subreaper() -> bool:
    flag = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(37, ctypes.byref(flag), 0, 0, 0)  # GET_CHILD_SUBREAPER
    return bool(flag.value)


@pytest.mark.real
def test_the_tutors_own_children_are_left_alone(tmp_path: Path, redis_server):
    # The tests' redis-server is a child of this process, started before the trace: it is not
    # the program's, so it is left running; and the tutor is a subreaper only while tracing.
    script = tmp_path / "quick.py"
    script.write_text("import redis\nredis.Redis().rpush('q', 'a')\n")
    was = _is_subreaper()
    with running("fake") as backend:
        run = trace_program(script, backend, TraceOptions())
    assert run.outcome.status == "finished"
    assert redis_server.process.poll() is None and redis_server.client().ping()
    assert _is_subreaper() == was
    with ProgramProcesses() as processes:
        assert processes.subreaper and _is_subreaper()
        processes.started(os.getpid())
        assert redis_server.process.pid not in processes.program(-1)
    assert _is_subreaper() == was


def _processes_marked(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"TUTOR_TEST_MARK={mark}".encode() in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_process_started_early_ends_when_no_run_comes(tmp_path):
    # `tutor trace` starts the program's process before it reads its options (spawn.py); a
    # trace that never runs (no such script, a bad option) leaves nothing behind.

    mark = uuid.uuid4().hex
    env = {**os.environ, "TUTOR_TEST_MARK": mark}
    for args in (["trace", str(tmp_path / "missing.py")], ["trace", "--timeout", "nope", "x.py"]):
        started = time.monotonic()
        done = subprocess.run(
            [installed_tutor(), *args], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert time.monotonic() - started < 10
        assert _processes_marked(mark) == []
    # And a run that comes is run by it.
    script = tmp_path / "one.py"
    script.write_text("import redis\nredis.Redis().set('a', 1)\nprint('done')\n")
    done = subprocess.run(
        [installed_tutor(), "trace", str(script), "--plain"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SET a '1'" in done.stdout and "done" in done.stdout
    assert _processes_marked(mark) == []
