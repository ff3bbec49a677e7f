"""The pipe from a traced program's process to the tutor: one event per frame.

A frame is the event (a dict of plain values: text, bytes, numbers, lists, tuples, dicts, sets)
in `marshal`'s format, after its length (4 bytes, little-endian). marshal keeps bytes as bytes and
a tuple as a tuple, so a command's words and reply cross as the program had them, with no
encoding on the program's side: JSON lines cost a traced command more than the command itself.
The two ends are the same Python (the program's process runs the tutor's interpreter).

A step, the event of every command, is a tuple (`("step", actor, thread, action, commands,
keys)`, the cheapest frame) that FrameReader hands on as the dict it stands for. A value that must
be folded, or that marshal does not know, crosses as a run file writes it (`wire`, `unwire`).
"""

from __future__ import annotations

import contextlib
import marshal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from redisqueue_tutor.run.records import (
    DictValue,
    FoldedBytes,
    FoldedStr,
    ListValue,
    SetValue,
    Shortened,
)
from redisqueue_tutor.run.runfile import decode_value, encode_value

URGENT = frozenset({"end", "refused", "running", "keys", "database"})  # flushed at once
_LENGTH = 4
FLUSH_EVENTS = 0.05  # seconds events may wait in the pipe's buffer (urgent ones never do)
_sleep = time.sleep  # as it was before the tracer made the program's sleeps take turns


def frame(event: dict[str, Any] | tuple[Any, ...]) -> bytes:
    """The event as a frame; raises ValueError for a value marshal does not know."""
    data = marshal.dumps(event)
    return len(data).to_bytes(_LENGTH, "little") + data


class Events:
    """Events to the tutor on the pipe, one marshal frame each, written whole under a
    lock."""

    # Called before any frame is written or flushed: the tracer's step left for later goes first
    # (tracer.catch_up), so the tutor gets every event in the order it happened.
    before: Callable[[], None] | None = None

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self._waiting = False  # frames written and not flushed yet
        self._flushed = 0.0

    def send(self, **event: Any) -> None:
        self.write(event, urgent=event.get("type") in URGENT)

    def write(self, event: dict[str, Any], *, urgent: bool = False) -> None:
        self.write_frame(frame(event), urgent=urgent)

    def write_frame(self, data: bytes, *, urgent: bool = False) -> None:
        """Write one event's frame: into the pipe at once for the events that end or stop a
        run and for the first after a quiet FLUSH_EVENTS seconds, the others within that time
        (keep_flushing); a write per command was a tenth of a traced command's cost."""
        if self.before is not None:
            self.before()
        with self.lock:
            self.stream.write(data)
            now = time.monotonic()
            if urgent or now - self._flushed >= FLUSH_EVENTS:
                self.stream.flush()
                self._flushed, self._waiting = now, False
            else:
                self._waiting = True

    def flush(self) -> None:
        if self.before is not None:
            self.before()
        with self.lock:
            self.stream.flush()
            self._flushed, self._waiting = time.monotonic(), False

    def keep_flushing(self) -> None:
        """Flush every FLUSH_EVENTS seconds, on a thread of the tutor's: a step waits no longer
        in the buffer (or left for later: before) while the program does something else than
        Redis (sleeps, runs a child process that is then stopped)."""

        def run() -> None:
            while True:
                _sleep(FLUSH_EVENTS)
                if self.before is not None:
                    with contextlib.suppress(Exception):  # a step that cannot be framed is dropped
                        self.before()
                try:
                    with self.lock:
                        if self._waiting:
                            self.stream.flush()
                            self._flushed, self._waiting = time.monotonic(), False
                except (OSError, ValueError):  # the pipe is closed: the run is over
                    return

        threading.Thread(target=run, name="tutor-flush", daemon=True).start()


class RelayedEvents(Events):
    """The events of a fork of the program's process (os.fork, multiprocessing's "fork"): each
    frame a datagram to the endpoint of the process it was forked from (endpoint.py), which
    writes it into the pipe. Two processes writing one pipe would cut each other's frames, and a
    fork often ends with os._exit, which flushes nothing: a datagram is sent at once, whole."""

    LARGEST = 65_000  # bytes: a datagram on loopback

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.lock = threading.Lock()

    def write_frame(self, data: bytes, *, urgent: bool = False) -> None:
        if len(data) > self.LARGEST:
            text = "(the tutor: a step of a forked process was too long to show)\n"
            data = frame({"type": "output", "stream": "stderr", "thread": "main", "text": text})
        with self.lock, contextlib.suppress(OSError):
            self.out.sendto(data, self.address)

    def flush(self) -> None:
        """Nothing waits: every frame left when it was written."""


class FrameReader:
    """Events from the pipe's bytes, read as they come; a frame cut short when the program's
    process was killed is never read."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """Each event whole: a dict, or a step (a tuple: tracer.step) as the dict it stands for."""
        self._buffer += chunk
        start = 0
        buffer = self._buffer
        while len(buffer) - start >= _LENGTH:
            size = int.from_bytes(buffer[start : start + _LENGTH], "little")
            end = start + _LENGTH + size
            if end > len(buffer):
                break
            try:
                event = marshal.loads(buffer[start + _LENGTH : end])
            except (ValueError, EOFError, TypeError):
                event = None
            start = end
            if isinstance(event, dict):
                yield event
            elif isinstance(event, tuple) and len(event) == 6 and event[0] == "step":
                _kind, actor, thread, action, commands, keys = event
                yield {
                    "type": "step",
                    "actor": actor,
                    "thread": thread,
                    "action": action,
                    "commands": commands,
                    "keys": keys,
                }
        del self._buffer[:start]


def wire(value: Any) -> Any:
    """A value as JSON for the pipe to the tutor: a run file's encoding (runfile.encode_value),
    plus the folded values that only travel on this pipe (trace.unwire reads them)."""
    if isinstance(value, FoldedStr):
        return {"folded": str(value), "size": value.size}
    if isinstance(value, FoldedBytes):
        return {"folded": encode_value(bytes(value)), "size": value.size}
    if isinstance(value, Shortened):
        return {"shortened": [wire(value.head), wire(value.tail)], "length": value.length}
    if isinstance(value, DictValue):
        return {"dict": [[wire(k), wire(v)] for k, v in value]}
    if isinstance(value, SetValue):
        return {"set": [wire(v) for v in value]}
    if isinstance(value, tuple) and not isinstance(value, ListValue):
        return {"tuple": [wire(v) for v in value]}
    if isinstance(value, tuple | list):
        return [wire(v) for v in value]
    return encode_value(value)


def unwire(value: Any) -> Any:
    """A value from the tracer's pipe (tracer.wire): folded values become records.FoldedStr,
    FoldedBytes and Shortened; the rest stays as a run file writes it, for runfile.decode_value."""
    if isinstance(value, dict):
        if "folded" in value:
            preview, size = value["folded"], int(value.get("size", 0))
            if isinstance(preview, str):
                return FoldedStr(preview, size)
            return FoldedBytes(bytes(decode_value(preview)), size)
        if "shortened" in value:
            head, tail = (decode_value(unwire(v)) for v in value["shortened"])
            return Shortened(head, tail, int(value.get("length", 0)))
        if len(value) == 1 and next(iter(value)) in ("dict", "set", "tuple"):
            kind, items = next(iter(value.items()))
            return decode_value({kind: unwire(items)}) if isinstance(items, list) else value
        return value
    if isinstance(value, list):
        return [unwire(v) for v in value]
    return value
