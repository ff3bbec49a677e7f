"""`tutor trace -m MODULE`: a module run as `python -m` runs it, with the words after it its own."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.cli.trace_commands import module_ends_options

runner = CliRunner()

JOBS = """\
import os, stat, sys
import redis

r = redis.Redis()
r.lpush("q", sys.argv[1])
connection = r.connection_pool.get_connection()
# A framework's worker waits on its connections' sockets (kombu registers them with epoll):
# a real one, also on the embedded server.
try:
    real = stat.S_ISSOCK(os.fstat(connection._sock.fileno()).st_mode)
except OSError:
    real = False
r.connection_pool.release(connection)
print(sys.argv[1:], sys.argv[0].endswith("jobs.py"), __name__, real)
"""


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            ["-m", "celery", "-A", "proj", "--timeout", "5"],
            ["-m", "celery", "--", "-A", "proj", "--timeout", "5"],
        ),
        (["--timeout", "5", "-m", "x", "--plain"], ["--timeout", "5", "-m", "x", "--", "--plain"]),
        (["--module=x", "a"], ["--module=x", "--", "a"]),
        (["prog.py", "-m", "x"], ["prog.py", "-m", "x"]),  # the script's own -m
        (["-o", "-m", "prog.py"], ["-o", "-m", "prog.py"]),  # a file called -m
    ],
)
def test_the_words_after_the_module_are_the_modules(words, expected):
    assert module_ends_options(words) == expected


def test_a_module_runs_with_its_arguments_on_both_backends(backend_spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # python -m finds the module in the folder it is started in
    (tmp_path / "jobs.py").write_text(JOBS)
    result = runner.invoke(
        app,
        ["trace", "--plain", "--backend", backend_spec, "-m", "jobs", "hello", "--timeout", "3"],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "Trace of -m jobs" in result.output
    # Every word after the module is the module's, the tutor's option names too.
    assert "['hello', '--timeout', '3'] True __main__ True" in result.output
    assert "LPUSH q 'hello'" in result.output


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["-m", "no_such_module_here"], "-m no_such_module_here: no such module here"),
        (["-m", "not-a-name"], "-m not-a-name: not the name of a Python module"),
        ([], "give the program to run"),
    ],
)
def test_a_module_that_cannot_run_is_one_line(words, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["trace", "--plain", *words])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output
