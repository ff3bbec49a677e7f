"""Shared fixtures: a redis-server of our own on a free loopback port, and both backends.

The tests never touch port 6379 or a server they did not start. Under CI=true a missing
redis-server binary (or any other test dependency: pexpect, tmux, openssl) is a failure, not a skip.

`-m "not real"` starts no redis-server, and this is enforced rather than hoped for: the real case of
`backend_spec` carries the `real` marker, a test not marked `real` that starts or uses a
RedisServer fails on the spot, and a test marked `real` that used no server fails too.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import redis

# pytest imports this file as `conftest`, the tests import helpers from `tests.conftest`: make them
# one module, so that the RedisServer a test imports shares the guard's state with these hooks.
if __name__ == "conftest":
    sys.modules.setdefault("tests.conftest", sys.modules[__name__])

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"


def _free_port() -> int:
    # Below 55535: a cluster node also listens on port + 10000 for its bus.
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if 1024 < port < 55535 and port != 6379:
            return port


class _Running:
    """The test being run, and whether it has started or used a RedisServer so far."""

    item: pytest.Item | None = None
    used_server = False


def _server_in_use() -> None:
    """Called whenever a RedisServer is started or used: only a test marked `real` may do it."""
    item = _Running.item
    if item is not None and item.get_closest_marker("real") is None:
        pytest.fail(
            f"{item.nodeid} starts or uses a redis-server but is not marked `real`:"
            " add @pytest.mark.real (`-m 'not real'` must start no server)",
            pytrace=False,
        )
    _Running.used_server = True


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _Running.item, _Running.used_server = item, False
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    if item.get_closest_marker("real") is not None and not _Running.used_server:
        pytest.fail(
            f"{item.nodeid} is marked `real` but started or used no redis-server:"
            " a test on fakeredis alone belongs to `-m 'not real'`",
            pytrace=False,
        )
    return result


class RedisServer:
    """A redis-server process started (and stopped) by the tests, on a free loopback port.

    `tls` is a TlsFiles: the server then listens for TLS only. `password` sets requirepass.
    Starting one, or reading its port, URL or a client, is allowed only in a test marked `real`.
    """

    def __init__(
        self,
        binary: str,
        extra: tuple[str, ...] = (),
        *,
        password: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        _server_in_use()
        self._port = _free_port()
        assert self._port != 6379
        self.password = password
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="tutor-redis-")
        args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", self.dir]
        if tls is None:
            args += ["--port", str(self._port)]
        else:
            args += ["--port", "0", "--tls-port", str(self._port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key)]
            args += ["--tls-ca-cert-file", str(tls.cert)]
        if password is not None:
            args += ["--requirepass", password]
        self.process = subprocess.Popen(
            [*args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self._port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self._port} ({' '.join(extra)})")

    @property
    def port(self) -> int:
        _server_in_use()
        return self._port

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls is None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls.cert}"

    def client(self, **kwargs: object) -> redis.Redis:
        """A plain redis-py client for the tests' own checks (SCAN, DUMP; never KEYS or FLUSH*)."""
        _server_in_use()
        return redis.Redis.from_url(self.url, **kwargs)

    def pause(self) -> None:
        """Freeze the server: the kernel still accepts connections, nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


GOLDEN = ROOT / "tests" / "golden"


def golden(name: str, text: str) -> None:
    """`text` is the golden file `name` (tests/golden/). With UPDATE_GOLDEN=1 it is written first:
    regenerate after a deliberate change, and review the diff like code."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), f"{name} differs from the golden file"


def all_keys(client: redis.Redis, match: str = "*") -> set[bytes]:
    """Every key of the server's db, by SCAN (tests never use KEYS)."""
    return set(client.scan_iter(match=match, count=1000))


def installed_tutor() -> str:
    """The `tutor` command installed beside this Python (never a path of one machine, never PATH)."""
    beside = Path(sys.executable).with_name("tutor")
    if not beside.exists():
        pytest.fail(f"the `tutor` command is not installed beside {sys.executable}")
    return str(beside)


def pytest_configure(config: pytest.Config) -> None:
    # A shell that starts pytest in the background makes it ignore SIGINT, and that would pass on
    # to every tutor the tests start: a Ctrl-C test would then prove nothing. Children get the
    # default, as in a terminal.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def missing(message: str) -> None:
    """Skip for lack of a tool; under CI=true fail instead, so CI cannot skip the real tests.

    Works in a test, a fixture or at a module's top level (then every test of the module is
    skipped, or under CI=true the module fails to collect).
    """
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must run every test", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def required_module(name: str) -> ModuleType:
    """Import a test dependency (pexpect...): missing, it is a skip, or under CI=true a failure."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} is not installed ({exc}); pip install '.[test]'")
        raise  # not reached: missing() skips or fails


def redis_server_binary() -> str:
    _server_in_use()  # about to start one: the test must be marked `real`, binary or not
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed (apt-get install -y redis-server)")
    assert binary is not None
    return binary


@pytest.fixture(autouse=True, scope="session")
def _private_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tutor's cache and progress go to temporary folders, never the user's own."""
    saved = {k: os.environ.get(k) for k in ("TUTOR_CACHE_DIR", "TUTOR_DATA_DIR")}
    os.environ["TUTOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.setdefault("TUTOR_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(redis_server_binary())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real)])
def backend_spec(request: pytest.FixtureRequest) -> str:
    """'fake' or the URL of the tests' own redis-server: every lesson test runs on both.

    The real case carries the `real` marker by itself: `-m "not real"` keeps only the fake one.
    """
    if request.param == "fake":
        return "fake"
    return request.getfixturevalue("redis_server").url


@pytest.fixture
def start_server() -> Iterator[Callable[..., RedisServer]]:
    """Start extra redis-servers for one test (a replica, one with a password...); all stopped after."""
    started: list[RedisServer] = []
    binary = redis_server_binary()

    def start(*extra: str, **kwargs: object) -> RedisServer:
        server = RedisServer(binary, extra, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed; it makes the TLS tests' certificate")
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(files.key), "-out", str(files.cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return files
