"""The traced program's sys.stdout and sys.stderr: what it prints becomes events of its thread."""

from __future__ import annotations

import threading

from redisqueue_tutor.modes.trace import tracer
from redisqueue_tutor.modes.trace.pipe import Events
from redisqueue_tutor.modes.trace.tracer import thread_label
from redisqueue_tutor.run.records import fold_lines


class ThreadOutput:
    """sys.stdout / sys.stderr of the program: each thread's lines become events of that thread.

    Buffered per thread up to the newline, since print() writes the text and the newline apart
    and two threads printing at once would otherwise cut each other's lines.
    """

    def __init__(self, events: Events, stream: str) -> None:
        self.events = events
        self.name = stream
        self.encoding = "utf-8"
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        me = threading.get_ident()
        with self._lock:
            buffered = self._partial.pop(me, "") + text
            complete, newline, rest = buffered.rpartition("\n")
            if rest:
                self._partial[me] = rest
        if newline:
            self._send(complete + newline)
        return len(text)

    def _send(self, text: str) -> None:
        if tracer.TRACER is not None and not tracer.TRACER.whole:
            text = fold_lines(text)
        self.events.send(type="output", stream=self.name, thread=thread_label(), text=text)

    def flush(self) -> None:
        with self._lock:
            rest = self._partial.pop(threading.get_ident(), "")
        if rest:
            self._send(rest)

    def flush_all(self) -> None:
        """Every thread's unfinished line (at exit: a last `write` without a newline)."""
        with self._lock:
            rests, self._partial = list(self._partial.values()), {}
        for rest in rests:
            self._send(rest)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("the traced program's output is captured")
