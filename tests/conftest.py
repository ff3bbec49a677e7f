"""Shared fixtures: a redis-server of our own on a free loopback port, and both backends.

The tests never touch port 6379 or a server they did not start. Under CI=true a missing
redis-server binary is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process started (and stopped) by the tests."""

    def __init__(self, binary: str, extra: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        assert self.port != 6379
        self.dir = tempfile.mkdtemp(prefix="tutor-redis-")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install -y redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must run the real-server tests")
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(redis_server_binary())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["fake", "real"])
def backend_spec(request: pytest.FixtureRequest) -> str:
    """'fake' or the URL of the tests' own redis-server: every lesson test runs on both."""
    if request.param == "fake":
        return "fake"
    return request.getfixturevalue("redis_server").url
