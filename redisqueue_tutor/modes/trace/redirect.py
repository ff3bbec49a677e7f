"""Point redis-py clients at the run's endpoint: the recording proxy a trace listens on.

Installed in the traced program's own process for `redis.asyncio` (its sync clients are built on
the run's backend by child.install), and in every Python process the program starts, for sync and
asyncio clients alike, through `sitecustomize` (the folder `site/` is put first on PYTHONPATH,
with the endpoint in $TUTOR_TRACE_REDIRECT): a Celery or RQ worker, a `manage.py` command, a
script. Every connection pool redis-py builds, whatever the program passed (host, port, a
unix socket, TLS, a password, `from_url`), connects to 127.0.0.1:PORT instead, keeping its db,
decode_responses and protocol. The proxy namespaces every key and channel, refuses what cannot be
kept in the run, and records every command with the client that sent it.

The usual environment variables (REDIS_URL, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, RQ_REDIS_URL)
name the endpoint too, for programs that read their URL from them.

In the program's other processes redis-py is imported at start-up (about 40 ms), so that no
client can be built before the redirect is in place.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import inspect
import json
import linecache
import os
import socket
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redisqueue_tutor.keyspace.handshake import housekeeping

ENV = "TUTOR_TRACE_REDIRECT"  # "host:port", set for the program and every process it starts
NOTES_ENV = "TUTOR_TRACE_NOTES"  # "host:port" of the endpoint's datagram socket for line notes
URL_VARIABLES = ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "RQ_REDIS_URL")

# What a connection to the endpoint must not carry: the endpoint is plain TCP on loopback and
# authenticates to the server itself.
_DROPPED = frozenset(
    {"path", "username", "password", "credential_provider", "ssl", "connection_class"}
)


def environment(host: str, port: int, db: int = 0, notes: int = 0) -> dict[str, str]:
    """The variables that point the program and its processes at the endpoint (and, with
    `notes`, where they say which of their lines sent each command)."""
    url = f"redis://{host}:{port}/{db}"
    found = {ENV: f"{host}:{port}", **dict.fromkeys(URL_VARIABLES, url)}
    if notes:
        found[NOTES_ENV] = f"{host}:{notes}"
    return found


def _process_name() -> str:
    """`worker` for worker.py, `celery` for `python -m celery` or the celery script, `rq` for
    `python -m rq.cli`: the program or the package the process runs."""
    path = Path(sys.argv[0] if sys.argv and sys.argv[0] else "python")
    for entry in sys.path[1:]:
        if entry and path.is_relative_to(entry) and path.parent != Path(entry):
            return path.relative_to(entry).parts[0]  # a module of an installed package
    if path.name == "__main__.py":
        return path.parent.name
    return path.name.removesuffix(".py") or "python"


def redirected_kwargs(kwargs: dict[str, Any], host: str, port: int) -> dict[str, Any]:
    """A pool's connection kwargs, pointed at the endpoint."""
    kept = {k: v for k, v in kwargs.items() if k not in _DROPPED and not k.startswith("ssl_")}
    kept.update(host=host, port=port)
    if not kept.get("client_name"):
        kept["client_name"] = f"{_process_name()}-{os.getpid()}"
    return kept


def _patch_pool(
    pool_class: Any, plain: type, host: str, port: int, *, keep: Callable[[type], bool]
) -> None:
    """Every pool of `pool_class` connects with `plain` connections to host:port, unless `keep`
    says its connection class is one to leave alone (fakeredis's, in a program that uses it)."""
    original = pool_class.__init__
    if getattr(original, "_tutor_redirect", False):
        return

    def init(
        self: Any, connection_class: type = plain, max_connections: Any = None, **kwargs: Any
    ) -> None:
        if keep(connection_class):
            original(self, connection_class, max_connections, **kwargs)
            return
        if not issubclass(connection_class, plain) or connection_class.__name__ in (
            "SSLConnection",
            "UnixDomainSocketConnection",
        ):
            connection_class = plain
        original(self, connection_class, max_connections, **redirected_kwargs(kwargs, host, port))

    init._tutor_redirect = True  # type: ignore[attr-defined]
    pool_class.__init__ = init


def _foreign(connection_class: type) -> bool:
    return connection_class.__module__.startswith("fakeredis")


def install_asyncio(host: str, port: int) -> None:
    """Point every redis.asyncio pool, and every asyncio connection a program builds itself, at
    host:port. A unix-socket connection built by hand cannot be pointed anywhere: refused."""
    import redis.asyncio.connection as aio

    _patch_pool(aio.ConnectionPool, aio.Connection, host, port, keep=_foreign)
    _patch_connection(aio.Connection, aio.UnixDomainSocketConnection, host, port)


def _patch_connection(plain: Any, unix: Any, host: str, port: int) -> None:
    original = plain.__init__
    if getattr(original, "_tutor_redirect", False):
        return

    signature = inspect.signature(original)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind_partial(self, *args, **kwargs).arguments
        bound.pop("self", None)
        extra = bound.pop("kwargs", {})  # a **kwargs parameter, bound as one dict
        original(self, **redirected_kwargs({**bound, **extra}, host, port))

    def refuse(self: Any, **kwargs: Any) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError

        raise RedisConnectionError(
            "`tutor trace` points every client at the run; a unix-socket connection built by"
            " hand cannot be (use redis.Redis, or a pool)"
        )

    init._tutor_redirect = True  # type: ignore[attr-defined]
    plain.__init__ = init
    unix.__init__ = refuse


def install_sync(host: str, port: int, keep: Callable[[type], bool] = _foreign) -> None:
    """Point every sync redis-py pool at host:port (the program's other processes)."""
    import redis.connection as sync

    _patch_pool(sync.ConnectionPool, sync.Connection, host, port, keep=keep)
    _patch_connection(sync.Connection, sync.UnixDomainSocketConnection, host, port)


def install_from_environment() -> None:
    """In a process the program started (sitecustomize calls this): redirect sync and asyncio
    clients, if redis-py is installed there."""
    endpoint = os.environ.get(ENV, "")
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        install_sync(host, int(port))
        install_asyncio(host, int(port))
    except ImportError:  # a Python without redis-py: nothing of it to point anywhere
        return
    notes_host, _, notes_port = os.environ.get(NOTES_ENV, "").rpartition(":")
    if notes_host and notes_port.isdigit():
        _install_notes((notes_host, int(notes_port)))


# --------------------------------------------------------------------------------------------------
# Line notes: which line of this process sent each command, told to the endpoint by datagram
# before the command leaves (endpoint.py matches them with the proxy's records by port).


def _library() -> tuple[str, ...]:
    paths = {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        str(Path(__file__).resolve().parents[2]),  # the whole tutor
    }
    spec = importlib.util.find_spec("redis")  # found, not imported
    if spec is not None and spec.origin:
        paths.add(str(Path(spec.origin).parent.parent))
    return tuple(os.path.realpath(p) for p in paths)


_LIBRARY = _library()
NOTES_PER_DATAGRAM = 200  # lines in one datagram: a long pipeline is told in several


@functools.lru_cache(maxsize=512)
def _realpath(filename: str) -> str:
    return os.path.realpath(filename)


@functools.lru_cache(maxsize=512)
def is_own_code(filename: str) -> bool:
    """Whether a file is the program's own code: not the standard library, not an installed
    package, not the tutor."""
    return not filename.startswith("<") and not _realpath(filename).startswith(_LIBRARY)


def program_line_of(frame: Any, script: str = "") -> str:
    """The innermost line of the program's own code in a stack (from `frame` outwards); "" when
    a library sent it. A line of `script` (the traced program's main file) reads
    `line 5: r.lpush('queue', 'task1')`, any other `worker.py:5: r.brpop("jobs")`."""
    while frame is not None and not is_own_code(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return ""
    return _line_text(frame.f_code.co_filename, frame.f_lineno, script)


# The program's line that handed a coroutine to asgiref's async_to_sync (a Django view's
# `async_to_sync(layer.group_send)(...)`). The coroutine runs as a task of the event loop, where
# no line of the program's own is on the stack; asgiref gives the task the caller's context, and
# with it this line.
CALLER_LINE: contextvars.ContextVar[str] = contextvars.ContextVar("tutor_caller_line", default="")


def asyncio_line_of(frame: Any, script: str = "") -> str:
    """The program's line that sent a redis.asyncio command: the innermost one in the running
    task; for a task that has none, the line that called async_to_sync for it (CALLER_LINE),
    else the innermost line outside the event loop (`asyncio.run(main())`); "" when none."""
    here = frame
    while here is not None:
        code = here.f_code
        if is_own_code(code.co_filename):
            return _line_text(code.co_filename, here.f_lineno, script)
        if code.co_name == "_run" and code.co_filename.endswith(_LOOP_RUNS):
            break  # the event loop running the task: its own frames end here
        here = here.f_back
    return CALLER_LINE.get() or program_line_of(frame, script)


_LOOP_RUNS = str(Path("asyncio") / "events.py")  # Handle._run, which steps every task


def install_caller_lines(script: Callable[[], str] = str) -> None:
    """Note the caller's line in every async_to_sync call (CALLER_LINE), where asgiref is;
    `script` says the traced program's main file when asked (it may be known only later)."""
    if importlib.util.find_spec("asgiref") is None:
        return
    from asgiref.sync import AsyncToSync

    original: Any = AsyncToSync.__call__
    if getattr(original, "_tutor_lines", False):
        return

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True
        line = program_line_of(sys._getframe(1), script()) or CALLER_LINE.get()
        token = CALLER_LINE.set(line)
        try:
            return original(self, *args, **kwargs)
        finally:
            CALLER_LINE.reset(token)

    __call__._tutor_lines = True  # type: ignore[attr-defined]
    AsyncToSync.__call__ = __call__  # type: ignore[method-assign]


@functools.lru_cache(maxsize=4096)
def _line_text(filename: str, number: int, script: str) -> str:
    """`line 5: r.lpush('queue', 'task1')` (a traced program asks for every command)."""
    code = linecache.getline(filename, number).strip()
    where = f"line {number}" if _realpath(filename) == script else f"{Path(filename).name}:{number}"
    return f"{where}: {code}" if code else where


def _install_notes(address: tuple[str, int]) -> None:
    import redis.connection as sync

    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # redis-py leaves these unannotated: called through Any.
    one: Any = sync.Connection.send_command
    packs: Any = sync.Connection.pack_commands
    send: Any = sync.Connection.send_packed_command

    def noted(connection: Any, commands: list[tuple[Any, ...]]) -> None:
        line = program_line_of(sys._getframe(2))
        pending = connection.__dict__.setdefault("_tutor_lines", [])
        for command in commands:
            if not housekeeping(command):
                pending.append(line)

    def send_command(self: Any, *args: Any, **kwargs: Any) -> None:
        noted(self, [args])  # redis-py packs it itself, past pack_command
        one(self, *args, **kwargs)

    def pack_commands(self: Any, commands: Any) -> Any:
        commands = [tuple(c) for c in commands]
        noted(self, commands)
        return packs(self, commands)

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            self.connect_check_health(check_health=False)
        pending = self.__dict__.get("_tutor_lines")
        if pending and self._sock is not None:
            _tell(out, address, self._sock.getsockname()[1], pending)
        send(self, command, check_health)

    sync.Connection.send_command = send_command  # type: ignore[method-assign]
    sync.Connection.pack_commands = pack_commands  # type: ignore[method-assign]
    sync.Connection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    _install_asyncio_notes(out, address)


def _tell(out: socket.socket, address: tuple[str, int], port: int, pending: list[str]) -> None:
    """Send the lines noted for a connection's commands, then forget them."""
    for start in range(0, len(pending), NOTES_PER_DATAGRAM):
        chunk = pending[start : start + NOTES_PER_DATAGRAM]
        with contextlib.suppress(OSError):
            out.sendto(json.dumps({"port": port, "lines": chunk}).encode(), address)
    pending.clear()


def _install_asyncio_notes(out: socket.socket, address: tuple[str, int]) -> None:
    """The same for this process's redis.asyncio connections: each command's line is noted when
    it is packed (a pipeline packs each of its commands so too) and told before it is sent."""
    try:
        import redis.asyncio.connection as aio
    except ImportError:
        return
    pack: Any = aio.AbstractConnection.pack_command
    send: Any = aio.AbstractConnection.send_packed_command

    def pack_command(self: Any, *args: Any) -> Any:
        if args and not housekeeping(args):
            line = asyncio_line_of(sys._getframe(1))
            self.__dict__.setdefault("_tutor_lines", []).append(line)
        return pack(self, *args)

    async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        pending = self.__dict__.get("_tutor_lines")
        writer = getattr(self, "_writer", None)
        sockname = writer.get_extra_info("sockname") if writer is not None else None
        if pending and isinstance(sockname, tuple) and len(sockname) >= 2:
            _tell(out, address, int(sockname[1]), pending)
        await send(self, command, check_health)

    aio.AbstractConnection.pack_command = pack_command  # type: ignore[method-assign]
    aio.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    install_caller_lines()
