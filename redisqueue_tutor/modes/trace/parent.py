"""`tutor trace`: run a learner's own redis-py program and record what it did in Redis.

The program runs in a child process (`python -m redisqueue_tutor.modes.trace.child`), not in the tutor:

- a `for message in pubsub.listen()` loop never returns, and a thread cannot be stopped from
  outside; a process can, together with every thread it started, so --timeout always works and
  nothing is left behind (the child gets its own process group, killed whole, and on Linux every
  process it starts is found and stopped even when it leaves the group: processes.py);
- the program's `print`, `sys.exit`, signal handlers and `if __name__ == "__main__"` behave as
  they do when the learner runs it, and its output can never mix with the tutor's table.

The child streams one frame per event on a pipe of its own (pipe.py: steps, output, the end); the
tutor builds the run from them (builder.RunBuilder) as they come, so a program that is stopped or
that raises still gives its table so far. On a real server the tutor, not the child, owns the
run's namespace (backend.running): its keys are removed on every exit, even after a kill.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from redisqueue_tutor import collector
from redisqueue_tutor.modes.trace.builder import RunBuilder
from redisqueue_tutor.modes.trace.bypass import LOOK_EVERY, bypassing, refusal, server_addresses
from redisqueue_tutor.modes.trace.pipe import FrameReader, unwire
from redisqueue_tutor.modes.trace.processes import ProgramProcesses
from redisqueue_tutor.modes.trace.spawn import take

if TYPE_CHECKING:
    from redisqueue_tutor.run.backend import Backend
from redisqueue_tutor.run.passwords import masked_command, masked_text
from redisqueue_tutor.run.recorder import make_record
from redisqueue_tutor.run.records import (
    CommandRecord,
    fold,
)
from redisqueue_tutor.run.runfile import Outcome, Run, decode_value
from redisqueue_tutor.run.server import Namespace, ServerInfo

DEFAULT_TIMEOUT = 30.0  # seconds: real programs (a worker's burst, Django start-up) take a few
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL for the program's process group
READ_SIZE = 1 << 20  # bytes read from a pipe at once
DRAIN = 0.2  # seconds to read what is left in the pipes once the program's process has ended


class ScriptError(Exception):
    """The program cannot be traced at all (missing, unreadable, a syntax error): one line."""


def check_script(path: Path) -> str:
    """Read and compile the program, so a typo is one line before anything runs."""
    if not path.exists():
        raise ScriptError(f"{path}: no such file")
    if path.is_dir():
        raise ScriptError(f"{path} is a folder; give the Python file to run")
    try:
        source = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read it ({exc})") from None
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        raise ScriptError(f"{where}: {exc.msg} (a syntax error in the program)") from None
    except ValueError as exc:
        raise ScriptError(f"{path}: {exc}") from None
    return source


def check_module(name: str) -> None:
    """A module's name as `python -m` takes it (whether it is there, its own process says)."""
    if not all(part.isidentifier() for part in name.split(".")):
        raise ScriptError(f"-m {name}: not the name of a Python module (like celery or proj.jobs)")


@dataclass(frozen=True)
class TraceOptions:
    timeout: float = DEFAULT_TIMEOUT
    fast: bool = False
    args: tuple[str, ...] = ()
    module: str | None = None  # run as `python -m MODULE` (the program's path is its name)
    # Keep long values whole, for a run file (--output); otherwise the program's process folds
    # them (records.fold) before they reach the tutor, which shows them folded anyway.
    whole: bool = False
    # Keys (short names) read after every step that writes them, whatever their type, so that
    # each step carries their value (a scenario lesson's watched keys); lists always are.
    watch: tuple[str, ...] = ()


class TraceTarget(Protocol):
    """What the tutor's side of a trace needs of the run's backend (a run.backend.Backend is
    one; EmbeddedTarget is one without importing a Redis client)."""

    @property
    def kind(self) -> str: ...

    @property
    def namespace(self) -> Namespace: ...

    def describe(self) -> str: ...

    def use_database(self, db: int) -> None: ...


class EmbeddedTarget:
    """The embedded backend, as the tutor's side of a trace sees it: the program's process runs
    the embedded server itself (child.py), so the tutor needs only its name and the run's
    namespace, and imports neither redis-py nor fakeredis for it (about 0.1 s of every trace's
    start, which the program's process waited for)."""

    kind = "fake"
    url = ""

    def __init__(self) -> None:
        self.namespace = Namespace.new()

    def describe(self) -> str:
        return str(ServerInfo.embedded())

    def use_database(self, db: int) -> None:
        """Another database of the embedded server: it goes with the server."""


def is_embedded(spec: str | None) -> bool:
    """Whether --backend names the embedded fakeredis (as run.backend.open_backend reads it)."""
    return spec is None or spec.strip() in ("", "fake")


def trace_program(script: Path, backend: Backend, options: TraceOptions) -> Run:
    """Run the program against `backend` and return everything it did, however it ended."""
    with TracedProgram(script, options) as program:
        return program.run(backend)


class TracedProgram:
    """The program's process, started before the run's backend is ready: its imports take as
    long as the tutor's, so they overlap; it waits for the run's settings, then runs.

    `run(backend)` runs it; leaving the `with` block without running it (the backend could not
    be reached) ends it before it ran a line of the program.
    """

    def __init__(self, script: Path, options: TraceOptions) -> None:
        self.script = script
        self.options = options
        spawned = take()  # started early by the command line, or now (spawn.py)
        self.child = spawned.child
        self.processes = spawned.processes
        self.read_fd = spawned.read_fd
        self.settings_fd = spawned.settings_fd
        self._closed = False
        self.builder: RunBuilder | None = None  # once run() has started: the steps so far

    def __enter__(self) -> TracedProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the program and whatever it started (before the caller removes the run's
        namespace: nothing may write into it after)."""
        if self._closed:
            return
        self._closed = True
        self._close_settings()  # a program still waiting for its settings ends
        try:
            _stop(self.child, self.processes)
        finally:
            os.close(self.read_fd)
            self.processes.__exit__()

    def _close_settings(self) -> None:
        if self.settings_fd >= 0:
            os.close(self.settings_fd)
            self.settings_fd = -1

    def run(self, backend: TraceTarget) -> Run:
        script, options, child, processes = self.script, self.options, self.child, self.processes
        shown = f"-m {options.module}" if options.module else script.name
        self.builder = builder = RunBuilder(
            title=f"Trace of {shown}",
            source=shown if options.module else str(script),
            backend=backend.describe(),
            watch=options.watch,
        )
        settings = {
            "script": "" if options.module else str(script),
            "module": options.module,
            "args": list(options.args),
            "kind": backend.kind,
            "url": getattr(backend, "url", ""),
            "prefix": backend.namespace.prefix,
            "fast": options.fast,
            "whole": options.whole,
            "watch": list(options.watch),
        }
        started = time.monotonic()
        try:
            os.write(self.settings_fd, json.dumps(settings).encode())
        except BrokenPipeError:  # the program's process ended before its run came (stopped)
            self.close()
            raise
        self._close_settings()
        raw = {"stdout": bytearray(), "stderr": bytearray()}
        end: dict[str, str] = {}
        events = Events(
            builder, end, backend.use_database, prefix=backend.namespace.prefix, whole=options.whole
        )
        read_fd = self.read_fd
        # A long run's steps pile up here as objects the cyclic collector would walk again and
        # again (100,000 steps made each command a fifth dearer): they are not garbage.
        collector.hold()
        try:
            look = _bypass_look(backend, processes, child.pid, end)
            timed_out = _collect(child, read_fd, raw, events, started + options.timeout, look=look)
            if timed_out and child.poll() is None:
                # The program's process says where it was (child.say_where_and_exit), then ends.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)
                _collect(child, read_fd, raw, events, time.monotonic() + KILL_GRACE)
            self.close()
            return _result(
                builder, started, timed_out, end=end, raw=raw, options=options, child=child
            )
        finally:
            self.close()
            # The run lives until the tutor exits: frozen first, or the collector would walk all
            # of it at once as soon as it is on again (20 ms for 10,000 steps).
            collector.release()


def _result(
    builder: RunBuilder,
    started: float,
    timed_out: bool,
    *,
    end: dict[str, str],
    raw: dict[str, bytearray],
    options: TraceOptions,
    child: subprocess.Popen[bytes],
) -> Run:
    seconds = time.monotonic() - started
    if timed_out:
        where = f" while it ran {end['running']}" if end.get("running") else ""
        outcome = Outcome("timeout", f"stopped after {options.timeout:g} s{where}", seconds)
    elif "status" in end:
        outcome = Outcome(end["status"], end.get("message", ""), seconds)
    else:  # the child died before it could say how (killed, or the tracer itself failed)
        detail = raw["stderr"].decode("utf-8", "replace").strip().splitlines()
        message = detail[-1] if detail else f"the program's process ended ({child.returncode})"
        outcome = Outcome("error", message, seconds)
    # What the program wrote around Python's sys.stdout (os.write, a child process) comes last.
    stdout = "".join(builder.stdout) + raw["stdout"].decode("utf-8", "replace")
    stderr = "".join(builder.stderr) + raw["stderr"].decode("utf-8", "replace")
    return builder.build(outcome, stdout, stderr)


def _collect(
    child: subprocess.Popen[bytes],
    read_fd: int,
    raw: dict[str, bytearray],
    events: Events,
    deadline: float,
    *,
    look: Callable[[], bool] = lambda: False,
) -> bool:
    """Read events and output until the child has exited and closed them; True on timeout.

    Once the child has exited, DRAIN seconds at most: a process it left running may hold its
    output open, and it is stopped next (_stop)."""
    assert child.stdout is not None and child.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(read_fd, selectors.EVENT_READ, "events")
    selector.register(child.stdout, selectors.EVENT_READ, "stdout")
    selector.register(child.stderr, selectors.EVENT_READ, "stderr")
    open_streams = 3
    exited: float | None = None
    next_look = 0.0
    try:
        while open_streams:
            now = time.monotonic()
            if exited is None and child.poll() is not None:
                exited = now
            if exited is None and now >= next_look:
                if look():
                    return False  # a client around the tutor: stop the program now
                next_look = now + LOOK_EVERY
            if exited is not None and now - exited > DRAIN:
                return False  # it ended, and a process it left running still holds its output
            left = deadline - now
            if left <= 0:
                return True
            wait = LOOK_EVERY if exited is None else 0.02
            for key, _mask in selector.select(timeout=min(left, wait)):
                chunk = os.read(key.fd, READ_SIZE)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data != "events":
                    raw[key.data] += chunk
                    continue
                events.feed(chunk)
                if events.end.get("status") == "refused":
                    return False  # stop the program now, whichever thread was refused
        child.wait(max(0.0, deadline - time.monotonic()))
        return False
    except subprocess.TimeoutExpired:
        return True
    finally:
        selector.close()


class Events:
    """The tracer's events, read into the run as they come (see tracer.py for what it sends)."""

    def __init__(
        self,
        builder: RunBuilder,
        end: dict[str, str],
        use_database: Callable[[int], None] = lambda _db: None,
        *,
        prefix: str = "",
        whole: bool = False,
    ) -> None:
        self.builder = builder
        self.end = end
        self.use_database = use_database
        self.prefix = prefix
        self.whole = whole
        self._frames = FrameReader()

    def feed(self, chunk: bytes) -> None:
        for event in self._frames.feed(chunk):
            self.read(event)

    def read(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        builder, end = self.builder, self.end
        if kind == "step":
            builder.add_step(self._step(event))
        elif kind == "output":
            stream = "stderr" if event.get("stream") == "stderr" else "stdout"
            text = str(event.get("text", ""))
            (builder.stderr if stream == "stderr" else builder.stdout).append(text)
            if stream == "stdout":
                builder.add_output(str(event.get("thread", "main")), text)
        elif kind == "end":
            end.setdefault("status", str(event.get("status", "finished")))
            end.setdefault("message", str(event.get("message", "")))
        elif kind == "running":  # where the program was when --timeout stopped it
            end["running"] = str(event.get("where", ""))
        elif kind == "keys":  # keys changed since their last step (state.py): at the end
            builder.add_keys([[k, t, unwire(v)] for k, t, v in event.get("keys", ())])
        elif kind == "database":
            with contextlib.suppress(TypeError, ValueError):
                self.use_database(int(event.get("db", 0)))
        elif kind == "refused":
            end["status"] = "refused"
            end["message"] = f"{event.get('message', '')} ({event.get('action', '')})"

    def _step(self, event: dict[str, Any]) -> dict[str, Any]:
        """The step with its commands made records (the program's process sends them raw) and
        the keys it changed read."""
        records, names = [], []
        for command in event.get("commands", ()):
            record = self.record(command)
            records.append(record)
            if record.name.startswith("PUBSUB"):
                continue  # asks about channels: names nothing the program touched
            names += [self.short(w) for w in command[1][1:] if self.named(w)]
        event["records"] = tuple(records)
        event["names"] = names
        event["keys"] = [[k, t, decode_value(unwire(v))] for k, t, v in event.get("keys", ())]
        return event

    def named(self, word: Any) -> bool:
        return (
            isinstance(word, str) and len(word) > len(self.prefix) and word.startswith(self.prefix)
        )

    def short(self, word: str) -> str:
        return word[len(self.prefix) :] if word.startswith(self.prefix) else word

    def record(self, command: list[Any]) -> CommandRecord:
        """A command of a step: raw (client, words as sent, reply as read, error), or as a run file
        writes it, already folded, when the program's process had to (tracer.wired)."""
        client, words, reply, error = command[:4]
        if len(command) > 4:
            return CommandRecord(
                client=str(client),
                args=tuple(decode_value(unwire(a)) for a in words),
                reply=decode_value(unwire(reply)),
                error=error,
            )
        record = make_record(str(client), tuple(words), reply, error, self.short)
        args, value = masked_command(record.args), record.reply
        if not self.whole:
            args, value = tuple(fold(a) for a in args), fold(value)
        return replace(record, args=args, reply=value, sent=())


def _bypass_look(
    backend: TraceTarget, processes: ProgramProcesses, root: int, end: dict[str, str]
) -> Callable[[], bool]:
    """On a real server: a look at the program's other processes (bypass.py) that says, in
    `end`, which one reached the server around the tutor; True when one did."""
    url = str(getattr(backend, "url", "") or "")
    if backend.kind == "fake" or not url or not processes.subreaper:
        return lambda: False
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        return lambda: False  # a unix socket: not a TCP address to look for
    addresses = server_addresses(parsed.hostname, parsed.port or 6379)

    def look() -> bool:
        found = bypassing(processes.program(root) - {root}, addresses, root)
        if found is None:
            return False
        end["status"] = "refused"
        end["message"] = masked_text(refusal(*found))
        return True

    return look


def _stop(child: subprocess.Popen[bytes], processes: ProgramProcesses) -> None:
    """Stop the program and every process it started, escaped from its group or not."""
    if child.poll() is None:
        processes.signal(child.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(KILL_GRACE)
    # Even after a normal exit the program may have left processes of its own running.
    processes.stop(child.pid)
    if child.poll() is None:
        child.wait()
    processes.stop(child.pid)  # what its process started in the last moment, now an orphan
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()
