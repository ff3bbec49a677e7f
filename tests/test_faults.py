"""Every way a real Redis can fail gives one clear line, a non-zero exit, no traceback, no hang.

Each fault is made for real on a server the tests start: nothing listening, a password, TLS on one
side only, an untrusted certificate, a frozen server (SIGSTOP), a server stopped mid-lesson.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import LessonRun
from redisqueue_tutor.run.backend import (
    KEY_TTL,
    BackendError,
    blocking_seconds,
    explain,
    open_backend,
    redact,
    running,
)
from tests.conftest import ROOT, _free_port, all_keys
from tests.test_safety import wait_for_run_keys

EXIT_BACKEND = 3


def tutor_step(url: str):
    return CliRunner().invoke(app, ["step", "queue", "--plain", "--redis-url", url])


def one_error_line(result) -> str:
    """The run failed with exit 3 and said so in exactly one line, without a traceback."""
    assert result.exit_code == EXIT_BACKEND, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    assert "Step 1" not in result.stdout  # it failed before the first step
    return lines[0]


def test_nothing_listening():
    line = one_error_line(tutor_step(f"redis://127.0.0.1:{_free_port()}/0"))
    assert "cannot reach Redis" in line and "Connection refused" in line
    assert "start redis-server" in line and "--backend fake" in line


@pytest.mark.real
def test_missing_password(start_server):
    server = start_server(password="pw")
    line = one_error_line(tutor_step(server.url.replace(":pw@", "")))
    assert "needs a password" in line and "redis://:PASSWORD@host:6379/0" in line


@pytest.mark.real
def test_wrong_password_is_never_shown(start_server):
    server = start_server(password="pw")
    line = one_error_line(tutor_step(server.url.replace(":pw@", ":wrong-secret@")))
    assert "refused the user name or password" in line and "in the URL" in line
    assert "wrong-secret" not in line


@pytest.mark.real
def test_plain_client_to_a_tls_server(start_server, tls_files):
    server = start_server(tls=tls_files)
    line = one_error_line(tutor_step(f"redis://127.0.0.1:{server.port}/0"))
    assert "if it expects TLS, use rediss://" in line


@pytest.mark.real
def test_tls_client_to_a_plain_server_fails_at_the_connect_timeout(redis_server):
    # Without the handshake under the connect timeout, this waited the full socket timeout.
    url = redis_server.url.replace("redis://", "rediss://") + "?socket_connect_timeout=0.3"
    line = one_error_line(tutor_step(url))
    assert "no TLS answer" in line and "use redis:// instead of rediss://" in line


@pytest.mark.real
def test_untrusted_certificate(start_server, tls_files):
    server = start_server(tls=tls_files)
    line = one_error_line(tutor_step(f"rediss://127.0.0.1:{server.port}/0"))
    assert "certificate" in line and "not trusted" in line and "ssl_ca_certs=" in line


@pytest.mark.real
def test_frozen_server_times_out(start_server):
    server = start_server()
    server.pause()  # the kernel still accepts the connection; nobody answers
    try:
        line = one_error_line(tutor_step(server.url + "?socket_timeout=0.3"))
    finally:
        server.resume()
    assert "did not answer in time" in line and "--backend fake" in line


@pytest.mark.real
def test_server_frozen_in_the_middle_of_a_lesson(start_server):
    server = start_server()
    with (
        pytest.raises(redis.TimeoutError) as caught,
        running(server.url + "?socket_timeout=0.3") as b,
    ):
        run = LessonRun(find_lesson("queue"), b)
        run.next_step()
        server.pause()
        try:
            run.next_step()
        finally:
            server.resume()
    assert "did not answer in time" in explain(caught.value)
    # The run left without cleaning up (the server did not answer), and its keys expire by
    # themselves: none is left without an expiry.
    left = all_keys(server.client(), b.namespace.pattern)
    assert left and all(0 < server.client().ttl(name) <= KEY_TTL for name in left)


@pytest.mark.real
def test_server_stopped_in_the_middle_of_a_lesson(start_server):
    server = start_server()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "redisqueue_tutor", "step", "queue", "--plain", "--auto"]
        + ["--delay", "0.5", "--redis-url", server.url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_run_keys(server, process)
    server.stop()
    out, err = process.communicate(timeout=30)
    assert process.returncode == EXIT_BACKEND, err
    assert b"Step 1 of 7" in out and b"Step 7 of 7" not in out
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Redis" in lines[0] and "start redis-server" in lines[0]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("http://localhost:6379", "unknown backend"),
        ("redis://127.0.0.1:notaport/0", "is not a Redis URL"),
        ("redis://127.0.0.1:6390/0?bogus=1", "an option redis-py does not understand"),
        ("redis://:hunter2@127.0.0.1:notaport/0", "redis://:***@127.0.0.1"),
    ],
)
def test_bad_backend_specs_are_one_line(spec, expected):
    line = one_error_line(tutor_step(spec))
    assert expected in line
    assert "hunter2" not in line


def test_the_environment_variable_names_the_server(monkeypatch):
    monkeypatch.setenv("TUTOR_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    result = CliRunner().invoke(app, ["step", "queue", "--plain"])
    assert "cannot reach Redis" in one_error_line(result)


def test_a_password_is_redacted_wherever_a_url_is_shown():
    assert redact("rediss://user:pw@host:6380/1?x=1") == "rediss://user:***@host:6380/1?x=1"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
    with pytest.raises(BackendError) as caught:
        open_backend("redis://:topsecret@host:xx/0")
    assert "topsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("args", "seconds"),
    [
        (("BRPOP", "q", "2.5"), 2.5),
        (("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), 0.0),
        (("BLMPOP", "1", "1", "q", "LEFT"), 1.0),
        (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "1500", "STREAMS", "s", ">"), 1.5),
        (("XREAD", "COUNT", "1", "STREAMS", "s", "$"), None),
        (("RPOP", "q"), None),
        (("BRPOP", "q", "soon"), None),
    ],
)
def test_blocking_seconds_reads_each_commands_own_timeout(args, seconds):
    assert blocking_seconds(args) == seconds
