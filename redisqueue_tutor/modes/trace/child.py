"""The traced program's process: `python -m redisqueue_tutor.modes.trace.child SCRIPT ARGS...`,
started by parent.py with its settings in $TUTOR_TRACE and a pipe for events.

Before the program runs, every `redis.Redis(...)` (so `StrictRedis`), `Redis.from_url` and
`redis.from_url` is built on the run's Backend, keeping the program's decode_responses; asyncio
clients and connections the program builds for itself are refused; time.sleep, Condition.wait and
Thread.join are instrumented so that threads take turns (see tracer.py).
"""

from __future__ import annotations

import atexit
import os
import sys
from contextlib import suppress
from typing import Any, NoReturn

# The process's exit status (1 unless main returned one: a failure of the tracer) and the pipe.
_FINAL: dict[str, Any] = {"status": 1, "events": None}
_real_exit = os._exit


def _exit_sending(status: int) -> NoReturn:
    """End the process once what is left has reached the tutor: the program's output (each
    thread's unfinished line too), the events (the step left for later first: Events.before).
    Also the program's own os._exit, since a process ending so runs no exit handler (a daemon's
    first fork, a pool's worker)."""
    for stream in (sys.stdout, sys.stderr):  # the program's output (output.ThreadOutput)
        with suppress(Exception):
            getattr(stream, "flush_all", stream.flush)()
    with suppress(Exception):
        if _FINAL["events"] is not None:
            _FINAL["events"].flush()
    for stream in (sys.__stdout__, sys.__stderr__):
        with suppress(Exception):
            if stream is not None:
                stream.flush()
    _real_exit(status)


def _end() -> None:
    """The last exit handler: after the program's own, logging's, multiprocessing's and the
    tracer's, send what is left, then end the process without tearing the interpreter down (its
    modules, the tracer's threads), which the tutor would otherwise wait for after every run."""
    _exit_sending(_FINAL["status"])


# Registered before anything else is imported, so it runs after every other exit handler: atexit
# runs the last registered first.
atexit.register(_end)

from redisqueue_tutor import collector

# The tracer's imports (redis, fakeredis) are not garbage: the collector waits until the program
# runs (collector.py), which then finds it on as always.
collector.hold()

import functools
import importlib.util
import json
import runpy
import signal
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import SupportsIndex

import redis

from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.modes.trace import redirect
from redisqueue_tutor.modes.trace import tracer as state
from redisqueue_tutor.modes.trace.connection import TraceMixin
from redisqueue_tutor.modes.trace.endpoint import Endpoint
from redisqueue_tutor.modes.trace.output import ThreadOutput
from redisqueue_tutor.modes.trace.pipe import Events, RelayedEvents
from redisqueue_tutor.modes.trace.redirect import program_line_of
from redisqueue_tutor.modes.trace.spawn import ENV
from redisqueue_tutor.modes.trace.tracer import (
    ClientName,
    Tracer,
    _is_program,
    _real_cond_wait,
    _real_join,
    _real_sleep,
    current,
    thread_label,
)
from redisqueue_tutor.run.backend import Backend, FakeBackend, Namespace, RedisBackend
from redisqueue_tutor.run.connections import CONNECTION_CLASSES, GateMixin
from redisqueue_tutor.run.recorder import RecordingMixin

# --------------------------------------------------------------------------------------------------
# Installing it into redis-py


_traced_classes: dict[type, type] = {}


def traced_class(base: type) -> type:
    """The backend's gated connection class with the trace's mixin on top, which records by
    itself (a recording backend's class gives way to its class that only gates)."""
    if base not in _traced_classes:
        plain = next((p for p, recorded in CONNECTION_CLASSES.values() if recorded is base), base)
        assert not issubclass(plain, RecordingMixin), plain
        _traced_classes[base] = type(f"Traced{plain.__name__}", (TraceMixin, plain), {})
    return _traced_classes[base]


def traced_pool(decode_responses: bool, db: int | None = None) -> redis.ConnectionPool:
    """A pool on the run's backend, in the database the program named (Redis(db=2) stays apart
    from db 0), or the run's own."""
    tracer = current()
    with tracer.cond:
        tracer.clients += 1
        label = ClientName(tracer.clients)
    if db is not None and db != tracer.backend.default_db:
        tracer.events.send(type="database", db=db)  # the tutor cleans it up too
    pool = tracer.backend.connection_pool(
        f"client{label.number}", decode_responses=decode_responses, db=db
    )
    pool.connection_class = traced_class(pool.connection_class)
    pool.connection_kwargs["trace_client"] = label
    label.pool = pool
    return pool


def _database(value: Any) -> int | None:
    """The database a program named (an int or its text), or None for the run's own. Database
    0, redis-py's default, is the run's own too: a client the proxy serves never says SELECT 0,
    so it starts in the run's database (the one --redis-url names)."""
    if value is None:
        return None
    try:
        db = int(value)
    except (TypeError, ValueError):
        return None
    return db or None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def install() -> None:
    """Route every client the program makes through the backend, and instrument waiting."""
    original_init = redis.Redis.__init__

    @functools.wraps(original_init)
    def init(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        pool = kwargs.get("connection_pool")
        tracer.client_password(kwargs.get("password", args[3] if len(args) > 3 else None))
        if pool is not None:
            tracer.client_password(pool.connection_kwargs.get("password"))
            decode = _truthy(pool.connection_kwargs.get("decode_responses", False))
            db = pool.connection_kwargs.get("db")
        else:
            # decode_responses is Redis()'s 16th positional parameter; programs pass it by name.
            decode = _truthy(kwargs.get("decode_responses", False))
            db = kwargs.get("db", args[2] if len(args) > 2 else None)
        kwargs.pop("single_connection_client", None)
        original_init(self, connection_pool=traced_pool(decode, _database(db)))

    def from_url(cls: type[redis.Redis], /, url: str, **kwargs: Any) -> redis.Redis:
        # redis-py's own reading of the URL: its password and its ?decode_responses=.
        try:
            parsed = redis.connection.parse_url(str(url))
        except ValueError:
            parsed = {}
        tracer.client_password(kwargs.get("password") or parsed.get("password"))
        decode = kwargs.get("decode_responses", parsed.get("decode_responses", False))
        return cls(decode_responses=_truthy(decode), db=kwargs.get("db", parsed.get("db")))

    redis.Redis.__init__ = init  # type: ignore[method-assign]
    redis.Redis.from_url = classmethod(from_url)  # type: ignore[method-assign, assignment]
    redis.from_url = redis.Redis.from_url
    redis.utils.from_url = redis.from_url

    tracer = current()
    refuse_asyncio_clusters(tracer)
    refuse_own_connections(tracer)

    def sleep(seconds: float | SupportsIndex, /) -> None:  # time.sleep's own signature
        with tracer.waiting_here():
            _real_sleep(0 if tracer.fast else seconds)

    def cond_wait(self: threading.Condition, timeout: float | None = None) -> bool:
        with tracer.waiting_here():
            return _real_cond_wait(self, timeout)

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        with tracer.waiting_here():
            _real_join(self, timeout)

    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        tracer.threads_changed()  # a thread may start as another ends: the count alone misses it
        real_start(self)

    time.sleep = sleep
    threading.Condition.wait = cond_wait  # type: ignore[method-assign]
    threading.Thread.join = join  # type: ignore[method-assign]
    threading.Thread.start = start  # type: ignore[method-assign]


def refuse_asyncio_clusters(tracer: Tracer) -> None:
    """Stop the program when it opens a redis.asyncio cluster or Sentinel client: those find
    their servers by themselves, so the proxy that every other asyncio client is pointed at
    (endpoint.py) cannot stand in front of them."""
    import redis.asyncio.cluster
    import redis.asyncio.sentinel

    def refuse(cls: type) -> None:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            tracer.client_password(kwargs.get("password"))
            stop_refused(
                tracer,
                f"the program opened redis.asyncio.{type(self).__name__}; `tutor trace` runs on"
                " one server, so nothing was sent (use redis.asyncio.Redis to trace it)",
            )

        cls.__init__ = init  # type: ignore[misc]

    for cls in (redis.asyncio.cluster.RedisCluster, redis.asyncio.sentinel.Sentinel):
        refuse(cls)


def refuse_own_connections(tracer: Tracer) -> None:
    """Stop the program when it builds a sync connection of its own (redis.Connection(...), a
    ConnectionPool's get_connection()) instead of going through redis.Redis: such a connection
    reaches the host the program names, past the tracer and the gate, like an asyncio one.

    The tutor's own connections carry the gate (connections.GateMixin); a fakeredis connection
    the program makes for itself stays in its process.
    """
    original = redis.connection.AbstractConnection.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(self, GateMixin) and not type(self).__module__.startswith("fakeredis"):
            tracer.client_password(kwargs.get("password"))
            stop_refused(
                tracer,
                f"the program opened a redis.{type(self).__name__} of its own, outside"
                " redis.Redis; `tutor trace` cannot record it, so nothing was sent",
            )
        original(self, *args, **kwargs)

    redis.connection.AbstractConnection.__init__ = init  # type: ignore[method-assign]


def say_where_and_exit(tracer: Tracer) -> None:
    """On SIGTERM (the tutor's --timeout): tell the tutor which program line each thread was
    running, then end. A program with a SIGTERM handler of its own replaces this one; the
    tutor then says only when it stopped it."""

    def where(signum: int, frame: FrameType | None) -> None:
        lines: list[str] = []
        for ident, top in sys._current_frames().items():
            line = program_line_of(top, tracer.script)
            thread = next((t for t in threading.enumerate() if t.ident == ident), None)
            if not line or thread is None:
                continue
            if thread is threading.main_thread():
                lines.insert(0, line)
            else:
                lines.append(f"thread {thread_label(thread)} at {line}")
        tracer.events.send(type="running", where=tracer.masked("; ".join(lines)))
        _exit_sending(128 + signum)

    signal.signal(signal.SIGTERM, where)


def stop_refused(tracer: Tracer, message: str) -> None:
    """Tell the tutor the program is refused, and end its process right here: a program that
    catches every exception cannot go on past it."""
    tracer.events.send(type="refused", message=message, action=tracer.line())
    _exit_sending(2)


# --------------------------------------------------------------------------------------------------
# The process


def _forked(tracer: Tracer, address: tuple[str, int]) -> None:
    """In a fork of the program's process: its events go to the endpoint it was forked from,
    which writes them into the pipe (pipe.RelayedEvents)."""
    relay = RelayedEvents(address)
    tracer.events = relay
    tracer.forked()  # also lets go of the lock the fork was taken under
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, ThreadOutput):
            stream.events = relay
    _FINAL["events"] = None


def _backend(settings: dict[str, Any]) -> Backend:
    namespace = Namespace(settings["prefix"])
    if settings["kind"] == "fake":
        return FakeBackend(namespace, record=False)  # the trace records at its connections
    return RedisBackend(settings["url"], namespace)


def _error_line(exc: BaseException, script: str) -> str:
    """`line 7: ZeroDivisionError: division by zero`, at the program's own deepest line."""
    line = ""
    for frame, number in traceback.walk_tb(exc.__traceback__):
        if os.path.realpath(frame.f_code.co_filename) == script:
            line = f"line {number}: "
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return line + (text[-1] if text else type(exc).__name__)


def _program_traceback(exc: BaseException) -> str:
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if _is_program(f.filename) or f.filename == "<string>"
    ]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _as_the_program(events: Events, argv: list[str], script: str, module: str | None) -> None:
    """The process as the program expects to find it: its output, arguments and path, and the
    garbage collector on."""
    sys.stdout = ThreadOutput(events, "stdout")
    sys.stderr = ThreadOutput(events, "stderr")
    sys.argv = list(argv)
    os._exit = _exit_sending
    # As python does: the script's folder first, or for -m the folder it was started in.
    sys.path[0] = str(Path.cwd() if module else Path(script).parent)
    collector.release()


def _module_file(tracer: Tracer, module: str) -> str:
    """The file `python -m MODULE` runs (a package's __main__), found as python finds it: its
    parent packages are imported, which is why the tracer is installed first."""
    sys.path[0] = str(Path.cwd())
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{module}.__main__")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not Path(spec.origin).exists():
        where = Path.cwd()
        stop_refused(tracer, f"-m {module}: no such module here ({where}, and the installed ones)")
    assert spec is not None and spec.origin is not None
    return os.path.realpath(spec.origin)


def _run(events: Events, script: str, module: str | None) -> tuple[str, str, int]:
    """Run the program: its status for the tutor (finished, refused, error), why, and the exit
    code of the program's process."""
    try:
        if module:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(script, run_name="__main__")
    except Refused as exc:
        return "refused", str(exc), 2
    except SystemExit as exc:
        if exc.code in (None, 0):
            return "finished", "", 0
        if not isinstance(exc.code, int):
            return "error", str(exc.code), 1
        return "error", f"the program exited with status {exc.code}", 1
    except BaseException as exc:  # the program's own failure: its line, then its traceback
        events.send(type="output", stream="stderr", thread="main", text=_program_traceback(exc))
        return "error", _error_line(exc, script), 1
    return "finished", "", 0


def main() -> int:
    settings = json.loads(os.environ.pop(ENV))
    # The tutor started this process early (spawn.py): the run's settings come now.
    with os.fdopen(int(settings.pop("settings")), "rb") as given:
        rest = given.read()
    if not rest:
        os._exit(0)  # no run came (a typo in the options, a server out of reach): nothing ran
    settings.update(json.loads(rest))
    module = settings.get("module")
    argv = [str(settings["script"]), *map(str, settings.get("args", ()))]
    script = os.path.realpath(argv[0]) if not module else ""
    stream = os.fdopen(int(settings["fd"]), "wb")  # Events.send flushes
    events = Events(stream)
    events.keep_flushing()
    _FINAL["events"] = events  # _end, the last exit handler, sends what is left
    backend = _backend(settings)
    state.TRACER = tracer = Tracer(
        backend, events, script, bool(settings["fast"]), bool(settings.get("whole", False))
    )
    tracer.state.watch = frozenset(str(name) for name in settings.get("watch", ()))
    endpoint = Endpoint(tracer)  # before install(): its own connection to the server is the tutor's
    # A fork is taken with the tracer's lock held, so never in the middle of a step being
    # worked out (by the flushing thread): its copy of the lock would be held for ever.
    os.register_at_fork(
        before=tracer.lock.acquire,
        after_in_parent=tracer.lock.release,
        after_in_child=functools.partial(_forked, tracer, endpoint.fork_address),
    )
    # The processes the program starts: their clients reach the same proxy (redirect.py).
    os.environ.update(endpoint.environment())
    if module and backend.kind == "fake":
        # A framework's own program (`-m celery worker`) waits on its connections' sockets:
        # on the embedded server its clients reach the run over loopback, as a child's do.
        redirect.install_from_environment()
    else:
        install()
        endpoint.install_asyncio()
    paths = [str(Path(__file__).parent / "site"), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    say_where_and_exit(tracer)
    if module:
        tracer.script = script = argv[0] = _module_file(tracer, module)
    _as_the_program(events, argv, script, module)
    main_thread = threading.get_ident()
    status, message, code = _run(events, script, module)
    # The main thread is done: it no longer holds the others back while they finish.
    with tracer.cond:
        tracer.waiting[main_thread] = 1
    sys.stdout.flush()
    sys.stderr.flush()
    endpoint.close()
    tracer.keys_at_end()
    # Threads the program left running may change keys until the interpreter ends.
    atexit.register(tracer.keys_at_end)
    events.send(type="end", status=status, message=message)
    _FINAL["status"] = code
    return code


if __name__ == "__main__":
    sys.exit(main())
