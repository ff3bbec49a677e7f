"""A class without a Redis server: `tutor class open --serve` serves the embedded fakeredis, with a
password, for as long as the class is open. Only ever on loopback here."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from redisqueue_tutor.classroom import student
from redisqueue_tutor.classroom.link import class_server
from redisqueue_tutor.classroom.room import as_entries
from redisqueue_tutor.classroom.serve import parse_address
from redisqueue_tutor.cli import app
from tests.conftest import installed_tutor

runner = CliRunner()


def _lines(process: subprocess.Popen[str], count: int, seconds: float = 30.0) -> list[str]:
    """The first `count` lines the process prints, read from its descriptor (a select() on a
    buffered file would wait for bytes its buffer already holds)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    chooser = selectors.DefaultSelector()
    chooser.register(fd, selectors.EVENT_READ)
    seen = b""
    while seen.count(b"\n") < count:
        assert chooser.select(seconds), f"no output in {seconds} s: {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"the tutor ended: {seen!r}"
        seen += chunk
    return seen.decode().splitlines()[:count]


def test_a_served_class_asks_for_its_password_and_ends_with_the_teachers_tutor(
    tmp_path: Path, monkeypatch
):
    env = {**os.environ, "TUTOR_DATA_DIR": str(tmp_path / "t"), "NO_COLOR": "1"}
    env.pop("TUTOR_REDIS_URL", None)
    process = subprocess.Popen(
        [installed_tutor(), "class", "open", "--serve", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        code, join, serving = _lines(process, 3)
        url = join.rsplit(" ", 1)[1]
        assert join == f"Students join with: tutor class join {code} --name NAME --redis-url {url}"
        assert url.startswith("redis://:") and "@127.0.0.1:" in url
        assert serving.startswith("Serving the class on 127.0.0.1:")

        def join_as(name: str, with_url: str):
            monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / name))
            return runner.invoke(
                app, ["class", "join", code, "--name", name, "--redis-url", with_url]
            )

        assert join_as("ana", url).exit_code == 0
        password = url.split("//:", 1)[1].split("@", 1)[0]
        wrong = join_as("ben", url.replace(password, "not-it"))
        assert wrong.exit_code == 3 and "refused the user name or password" in wrong.stderr
        none = join_as("cy", url.replace(f":{password}@", ""))
        assert none.exit_code == 3 and "this Redis needs a password" in none.stderr
        monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "t"))
        asked = runner.invoke(app, ["class", "ask", "queue", "fifo-shape", "--class", code])
        assert asked.exit_code == 0, asked.output
        status = runner.invoke(app, ["class", "status", code, "--plain"])  # reads the polls too
        assert status.exit_code == 0 and "ana" in status.stdout.lower()
        assert "Poll queue/fifo-shape" in status.stdout
        # A student's tutor reads the board in RESP3, as from a real server (its link says a
        # bare HELLO first, which fakeredis alone would answer by going back to RESP2).
        member = student.membership(tmp_path / "ana")
        with class_server(url, member.keys) as client:
            entries = as_entries(client.xread({member.keys.board: "0"}))
        assert [f["question"] for _i, f in entries] == ["fifo-shape"]
        # RESP2 clients sign in with AUTH, as redis-cli -a does.
        old = redis.Redis.from_url(url, protocol=2)
        assert old.ping() is True
        old.close()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password.encode())
        ping = b"*1\r\n$4\r\nPING\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(ping + auth + ping)
            seen = b""
            while seen.count(b"\r\n") < 3:
                seen += raw.recv(1000)
        assert seen == b"-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.strip().endswith(f"Class {code} ended: the server it was served on stopped.")
    assert not list((tmp_path / "t" / "classes").glob("*.json"))  # nothing left to close


@pytest.mark.parametrize(
    "text", ["6380", "host:6380", "0.0.0.0:99999", "localhost:", ":6380", "[::1]:6380"]
)
def test_a_serve_address_is_host_colon_port(text: str):
    with pytest.raises(Exception, match="--serve"):
        parse_address(text)
