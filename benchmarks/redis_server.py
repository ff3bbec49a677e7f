"""A redis-server for a benchmark: its own, on a free loopback port, stopped afterwards, or the
one the user names with --url. Shared by the benchmark scripts (run them from the project root:
`python benchmarks/NAME.py`)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def own_server() -> Iterator[str]:
    """Start a redis-server on a free loopback port; yields its URL and stops it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install -y redis-server), or pass --url")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="tutor-bench-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def server(url: str | None) -> Iterator[str]:
    """The server at `url`, or one of our own when it is None."""
    if url is None:
        with own_server() as own:
            yield own
    else:
        yield url
