"""Keys from the terminal, one at a time, with a timeout and a word when the terminal is resized.

click's getchar (what Typer offers) reads up to 32 bytes in raw mode and cannot wait with a
timeout, so auto-play could not listen for space or q, and a resized terminal was only noticed at
the next key. Here the terminal is put in cbreak mode (no echo, no line buffering; Ctrl-C still
raises KeyboardInterrupt) for as long as a screen is interactive, `select` waits for a key, the
timeout or SIGWINCH, and bytes that arrive together are handed out one key at a time, keeping an
escape sequence (an arrow, Page Down) whole.

Piped, answers and commands come a line at a time: `read_line` bounds a line's length.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import IO, Any, Protocol

RESIZE = "\x00resize"  # not a key: the terminal changed size, redraw

# The keys every interactive screen understands alike (arrows in the three forms terminals send).
RIGHT = ("\x1b[C", "\x1bOC", "\xe0M")
LEFT = ("\x1b[D", "\x1bOD", "\xe0K")
UP = ("\x1b[A", "\x1bOA", "\xe0H")
DOWN = ("\x1b[B", "\x1bOB", "\xe0P")
PAGE_UP = ("\x1b[5~",)
PAGE_DOWN = ("\x1b[6~",)
ENTER = ("\r", "\n")
BACKSPACE = ("\x7f", "\x08")
QUIT_KEYS = ("q", "Q", "\x1b", "\x04")
TIMEOUT = ""  # not a key: nothing was pressed in time


class ReadKey(Protocol):
    def __call__(self, timeout: float | None = None) -> str: ...


def split_keys(chunk: str) -> list[str]:
    keys: list[str] = []
    index = 0
    while index < len(chunk):
        if chunk[index] == "\x1b":
            end = index + 1
            # CSI (ESC [ ... final) and SS3 (ESC O x) sequences; a lone ESC is a key of its own.
            if end < len(chunk) and chunk[end] in "[O":
                end += 1
                while end < len(chunk) and not (chunk[end].isalpha() or chunk[end] == "~"):
                    end += 1
                end += 1
            keys.append(chunk[index:end])
            index = end
        else:
            keys.append(chunk[index])
            index += 1
    return keys


def key_reader(read: Callable[[], str] | None = None) -> ReadKey:
    """Keys one by one from `read` (a function returning whatever arrived together).

    Without `read`: the real terminal (see `terminal_keys`), where a timeout works; with `read`
    (tests, or a platform without termios) the timeout is ignored.
    """
    if read is None:
        return _TerminalKeys.shared()
    pending: list[str] = []

    def next_key(timeout: float | None = None) -> str:
        if not pending:
            pending.extend(split_keys(read()))
        return pending.pop(0) if pending else TIMEOUT

    return next_key


class _TerminalKeys:
    """Standard input in cbreak mode, entered on the first read and restored at exit."""

    _instance: _TerminalKeys | None = None

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.fd = -1  # known at the first read: a stream may have no descriptor (tests)
        self.pending: list[str] = []
        self._saved: Any = None  # termios attributes
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._previous_winch: (
            Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
        ) = None

    @classmethod
    def shared(cls) -> _TerminalKeys:
        if cls._instance is None or cls._instance.stream is not sys.stdin:
            cls._instance = cls(sys.stdin)
        return cls._instance

    def _enter(self) -> None:
        if self._saved is not None:
            return
        self.fd = self.stream.fileno()
        import atexit
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)  # TCSAFLUSH would drop keys typed ahead
        atexit.register(self.restore)
        if hasattr(signal, "SIGWINCH"):
            self._previous_winch = signal.signal(signal.SIGWINCH, self._on_resize)

    def _on_resize(self, _signum: int, _frame: object) -> None:
        with suppress(OSError):  # the pipe is full: a redraw is already due
            os.write(self._wake_w, b"r")

    def restore(self) -> None:
        if self._saved is None:
            return
        import termios

        termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        self._saved = None
        if hasattr(signal, "SIGWINCH") and self._previous_winch is not None:
            signal.signal(signal.SIGWINCH, self._previous_winch)

    def __call__(self, timeout: float | None = None) -> str:
        if self.pending:
            return self.pending.pop(0)
        try:
            self._enter()
        except (ImportError, OSError, ValueError):  # no termios (Windows), not a terminal after all
            return _fallback_key(timeout)
        import select

        ready, _, _ = select.select([self.fd, self._wake_r], [], [], timeout)
        if self._wake_r in ready:
            with suppress(BlockingIOError):
                while os.read(self._wake_r, 64):
                    pass  # several resizes in a row need one redraw
            return RESIZE
        if self.fd not in ready:
            return TIMEOUT
        data = os.read(self.fd, 64)
        if not data:
            raise EOFError
        self.pending.extend(split_keys(data.decode("utf-8", "replace")))
        return self.pending.pop(0) if self.pending else TIMEOUT


def _fallback_key(timeout: float | None) -> str:
    """Windows: msvcrt has no select, so poll for a key until the timeout. Elsewhere (no
    terminal after all), one key as Typer reads it."""
    if sys.platform != "win32":  # msvcrt is Windows's alone
        import typer

        return typer.getchar()
    import msvcrt

    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        if msvcrt.kbhit():
            key = msvcrt.getwch()
            if key in ("\x00", "\xe0"):  # an arrow: two characters
                key += msvcrt.getwch()
            if key == "\x03":
                raise KeyboardInterrupt
            return key
        time.sleep(0.02)
    return TIMEOUT


@contextmanager
def terminal_keys() -> Iterator[ReadKey]:
    """The terminal's keys for the duration of an interactive screen; the terminal's own mode is
    restored afterwards, also after Ctrl-C."""
    keys = _TerminalKeys.shared()
    try:
        yield keys
    finally:
        keys.restore()


# --------------------------------------------------------------------------------------------------
# Lines from a pipe

MAX_LINE = 1_000  # characters in one answer or command: a longer line is not typed by a person
_DRAIN = 64 * 1024


class LineTooLong(ValueError):
    """A line longer than MAX_LINE; the rest of it has been read and dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a line of more than {limit:,} characters")
        self.limit = limit


def read_line(stream: IO[str], limit: int = MAX_LINE) -> str | None:
    """The next line without its line end, or None at the end of input.

    A line longer than `limit` raises LineTooLong after the rest of it is read in chunks and
    dropped, never held whole: one 50 MB line costs a read, not a minute of parsing and drawing.
    """
    line = stream.readline(limit + 2)  # room for "\r\n"
    if not line:
        return None
    text = line.rstrip("\r\n")
    if len(text) <= limit and (line.endswith("\n") or len(line) <= limit + 1):
        return text
    while not line.endswith("\n"):
        line = stream.readline(_DRAIN)
        if not line:
            break
    raise LineTooLong(limit)
