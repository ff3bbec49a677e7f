"""The run's endpoint inside a traced program's process: where every client the tracer does not
build itself arrives, and is recorded.

The program's sync `redis.Redis` clients are built on the run's backend (child.install) and
recorded at their connections. Everything else (its `redis.asyncio` clients, the Celery or RQ
worker it starts, a `redis-cli`) is pointed at a recording proxy on a loopback port
(run/proxy.py, redirect.py): in front of the real server, or of the run's embedded fakeredis
served on loopback (run/fakeserver.ServedServer). The proxy namespaces and gates every command as
the backend does, and each command it records becomes a step of the run, drawn like the others:
the client that sent it, its reply, the keys it changed.

A step names the program line that sent the command when the client is an asyncio connection of
the program's own process (its line is noted when the command is packed, and matched to the
proxy's record by the connection's port). A client of another process is named by its connection
name (redirect.py names each `<program>-<pid>`), and by the line of that process's own code that
sent the command, which the process tells by datagram before the command leaves (redirect.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import sys
import threading
import time
from collections import deque
from typing import Any

from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.keyspace.handshake import housekeeping
from redisqueue_tutor.modes.trace import redirect
from redisqueue_tutor.modes.trace.redirect import asyncio_line_of
from redisqueue_tutor.modes.trace.tracer import Tracer
from redisqueue_tutor.run.fakeserver import ServedServer
from redisqueue_tutor.run.proxy import RecordingProxy, WireEvent
from redisqueue_tutor.run.recorder import _text

DRAIN = 1.0  # seconds a command of the program waits for the proxy's records before it
END_DRAIN = 15.0  # seconds the end of the program waits for them (a worker's long pipeline)


class Endpoint:
    """The recording proxy of one traced run, and the thread that turns its records into steps."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        backend = tracer.backend
        self.served: ServedServer | None = None
        if backend.kind == "fake":
            self.served = ServedServer(backend.server)
            upstream = self.served.url
        else:
            upstream = str(getattr(backend, "url", ""))
        self.events: queue.Queue[WireEvent | None] = queue.Queue()
        self.proxy = RecordingProxy(
            upstream,
            prefix=backend.namespace.prefix,
            gate=backend.gate,
            on_event=self._arrived,
            databases=True,
        ).start()
        # The program's own asyncio connections: by local port, the lines of the commands each
        # packed, in order (the deque lives on the connection, found again by its port).
        self.ports: dict[int, deque[tuple[str, str, str]]] = {}
        self.own_ports: set[int] = set()  # the program's own asyncio connections
        # A transaction of a client the proxy serves (MULTI ... EXEC), by connection: one step
        # at EXEC, as the program's own pipelines are, so that the keys it wrote are read after
        # it ran (a read after each QUEUED command would find them as they were).
        self._transactions: dict[int, list[Any]] = {}
        # The program's other Python processes say by datagram which of their lines sent each
        # command (redirect.py); read by the recording thread before each record.
        self.lines = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.lines.bind(("127.0.0.1", 0))
        self.lines.setblocking(False)
        # The events of forks of the program's process (pipe.RelayedEvents), one per datagram.
        self.forks = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.forks.bind(("127.0.0.1", 0))
        self._relaying = threading.Thread(target=self._relay, name="tutor-forks", daemon=True)
        self._relaying.start()
        tracer.drain = self.wait_idle  # a sync command waits for the records before it
        self._thread = threading.Thread(target=self._record, name="tutor-endpoint", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.proxy.port

    def environment(self) -> dict[str, str]:
        notes = int(self.lines.getsockname()[1])
        return redirect.environment(
            "127.0.0.1", self.port, self.tracer.backend.default_db, notes=notes
        )

    def _read_lines(self) -> None:
        """Take the line notes the program's other processes have sent so far."""
        while True:
            try:
                data = self.lines.recv(65536)
            except (BlockingIOError, OSError):
                return
            try:
                message = json.loads(data)
                port, lines = int(message["port"]), list(message["lines"])
            except (ValueError, KeyError, TypeError):
                continue
            notes = self.ports.setdefault(port, deque())
            notes.extend((str(line), "", "") for line in lines)

    @property
    def fork_address(self) -> tuple[str, int]:
        return ("127.0.0.1", int(self.forks.getsockname()[1]))

    def _relay(self) -> None:
        """Write each fork's frame into the pipe, until close() sends an empty datagram."""
        while True:
            try:
                data = self.forks.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self.tracer.events.write_frame(data)

    # -- the program's own asyncio connections ------------------------------------------------------
    def install_asyncio(self) -> None:
        """Point redis.asyncio at the proxy, and note the line of every command it packs
        (a pipeline's too: redis.asyncio packs each of its commands with pack_command)."""
        import redis.asyncio.connection as aio

        redirect.install_asyncio("127.0.0.1", self.port)
        endpoint = self
        original_pack = aio.AbstractConnection.pack_command
        original_connect = aio.AbstractConnection.connect

        def pack_command(self: Any, *args: Any) -> Any:
            endpoint.note(self, [args])
            return original_pack(self, *args)

        async def connect(self: Any, *args: Any, **kwargs: Any) -> None:
            await original_connect(self, *args, **kwargs)  # type: ignore[no-untyped-call]
            writer = getattr(self, "_writer", None)
            sockname = writer.get_extra_info("sockname") if writer is not None else None
            if isinstance(sockname, tuple) and len(sockname) >= 2:
                endpoint.ports[int(sockname[1])] = _notes_of(self)
                endpoint.own_ports.add(int(sockname[1]))

        aio.AbstractConnection.pack_command = pack_command  # type: ignore[method-assign]
        aio.AbstractConnection.connect = connect  # type: ignore[method-assign]
        redirect.install_caller_lines(lambda: self.tracer.script)

    def note(self, connection: Any, commands: list[tuple[Any, ...]]) -> None:
        line = asyncio_line_of(sys._getframe(1), self.tracer.script) or "(inside a library)"
        label = _task_label()
        notes = _notes_of(connection)
        for command in commands:
            if command and not housekeeping(command):
                notes.append((self.tracer.masked(line), label, _name_of(command[0])))

    # -- records -----------------------------------------------------------------------------------
    def _arrived(self, event: WireEvent) -> None:
        """On the proxy's thread: queue the record, and say at once when a client chose another
        database, so that the tutor cleans it even if the record is never drawn."""
        command = event.command
        chose = (
            len(command) == 2
            and command[0].lower() == b"select"
            and command[1].isdigit()
            and event.error is None
            and event.refused is None
        )
        if chose and int(command[1]) != self.tracer.backend.default_db:
            self.tracer.events.send(type="database", db=int(command[1]))
        self.events.put(event)
        # The client gets its reply once the step is drawn and the keys it changed are read:
        # a worker that went on at once had taken its next job before its first step was read.
        self.wait_idle(DRAIN)

    def _record(self) -> None:
        while (event := self.events.get()) is not None:
            try:
                self._read_lines()
                self.step(event)
            except Exception as exc:  # a step that cannot be drawn must not stop the recording
                self.proxy.note(f"a record could not be read: {exc!r}")
            finally:
                self.events.task_done()

    def wait_idle(self, cap: float = DRAIN) -> None:
        """Wait (`cap` seconds at most) until every record the proxy has made is a step: the
        proxy records a command before its client reads the reply, so a step that follows in
        the program is drawn after it."""
        if not self.events.unfinished_tasks or threading.current_thread() is self._thread:
            return
        deadline = time.monotonic() + cap
        with self.events.all_tasks_done:
            while self.events.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.events.all_tasks_done.wait(left)

    def step(self, event: WireEvent) -> None:
        if event.command and housekeeping(event.command):
            return
        tracer = self.tracer
        notes = self.ports.get(event.peer)
        if notes and event.command:
            # A command packed but never sent (its task cancelled first) left its note: the
            # notes of this connection's commands name them, so such a note is passed over.
            name = _name_of(event.command[0])
            while len(notes) > 1 and notes[0][2] and notes[0][2] != name:
                notes.popleft()
        note = notes.popleft() if notes and event.command else None
        if note is not None and note[1]:  # an asyncio connection of the program's own process
            action, actor, _name = note
        elif note is not None:  # its process said which of its lines sent it (none: a library's)
            actor = event.name or f"connection {event.connection}"
            action = f"{actor}: {note[0] or '(inside a library)'}"
        elif event.peer in self.own_ports:
            action, actor = "(a message the program's asyncio client read)", _task_label()
        else:
            actor = event.name or f"connection {event.connection}"
            action = f"{actor}, another process of the program"
        if event.refused is not None:
            tracer.events.send(type="refused", message=event.refused, action=action)
            return
        args: tuple[Any, ...] = tuple(_text(a) for a in event.command)
        try:
            sent = tracer.prefix(args) if args else ()
        except Refused:
            sent = args
        reply = None if event.error else event.reply
        command = (actor, tuple(_text(a) for a in sent), reply, event.error)
        commands = self._transaction(event, command)
        if commands:
            with tracer.lock:
                tracer.step(actor, actor, action, commands, db=event.db)

    def _transaction(self, event: WireEvent, command: Any) -> list[Any]:
        """The commands to draw as one step now: this one alone, or a whole transaction at its
        EXEC (or DISCARD); none while one is open."""
        name = event.command[0].upper() if event.command else b""
        held = self._transactions.get(event.connection)
        if held is None:
            if name == b"MULTI" and event.error is None:
                self._transactions[event.connection] = [command]
                return []
            return [command]
        held.append(command)
        if name in (b"EXEC", b"DISCARD") or event.lost:  # it ran, or never will
            del self._transactions[event.connection]
            return held
        return []

    def close(self) -> None:
        """Wait (END_DRAIN at most) for the records still coming, then stop the proxy and
        server; the records that could not be drawn in time are said in the program's output."""
        self.wait_idle(END_DRAIN)
        left = self.events.unfinished_tasks
        if left:
            self.tracer.events.send(
                type="output",
                stream="stderr",
                thread="main",
                text=f"(the tutor: {left:,} more commands of the program's other clients arrived"
                " after it ended and are not in the table)\n",
            )
        self.proxy.close()
        self.events.put(None)
        self._thread.join(DRAIN)
        for held in list(self._transactions.values()):  # a client that never sent its EXEC
            actor = str(held[0][0])
            with self.tracer.lock:
                self.tracer.step(actor, actor, f"{actor}: (a transaction never run)", held)
        self._transactions.clear()
        self.lines.close()
        with contextlib.suppress(OSError):
            self.forks.sendto(b"", self.fork_address)
        self._relaying.join(DRAIN)
        self.forks.close()
        if self.served is not None:
            self.served.close()


def _name_of(word: Any) -> str:
    """A command's name, upper case, from its first word as packed or as the proxy read it."""
    if isinstance(word, bytes | bytearray | memoryview):
        word = bytes(word).decode("utf-8", "replace")
    return str(word).split(" ")[0].upper()


def _notes_of(connection: Any) -> deque[tuple[str, str, str]]:
    """The lines noted for one asyncio connection's commands, kept on the connection itself."""
    notes: deque[tuple[str, str, str]] | None = getattr(connection, "_tutor_notes", None)
    if notes is None:
        notes = deque()
        connection._tutor_notes = notes
    return notes


def _task_label() -> str:
    """The asyncio task running now, by its coroutine's name (`consumer`), or `main`."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "main"
    if task is None:
        return "main"
    coro = task.get_coro()
    name = getattr(coro, "__name__", "") or task.get_name()
    return str(name)
