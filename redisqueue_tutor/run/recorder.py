"""Record every command a client sends and every reply it reads, at the connection level.

redis-py has no per-command hook, and overriding `execute_command` misses pipelines and pub/sub
messages; a mixin on the connection class sees everything, on a real server and on fakeredis alike.
The connection handshake (HELLO, AUTH, CLIENT SETINFO, ...) is not part of any lesson, so it is not
recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redisqueue_tutor.run.records import CommandRecord, freeze

if TYPE_CHECKING:
    import redis

    # To the type checker, a connection mixin is the redis-py connection it is mixed into.
    # redis-py leaves send_command, pack_commands and disconnect unannotated, and mypy's
    # untyped_calls_exclude does not reach calls through super(): those say
    # `type: ignore[no-untyped-call]`.
    ConnectionMixin = redis.connection.AbstractConnection
else:
    ConnectionMixin = object


def _text(arg: Any) -> str | bytes:
    """An argument as Redis receives it: text where it is UTF-8, bytes where it is not (a pickle,
    zlib data). redis-py's Encoder sends a str subclass (a str Enum such as RQ's
    JobStatus.QUEUED) as its value, 'queued', and a number as its repr."""
    if isinstance(arg, bytes | bytearray | memoryview):
        try:
            return bytes(arg).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(arg)
    if isinstance(arg, str):
        return str.__str__(arg)
    if isinstance(arg, int | float) and not isinstance(arg, bool):
        return repr(arg)
    return str(arg)


def _short(shorten: Callable[[str], str], word: str | bytes) -> Any:
    return shorten(word) if isinstance(word, str) else word


class CommandLog:
    """A thread-safe, append-only log of what the clients of one run sent and received.

    The hot path only appends a raw tuple (the benchmark showed that building records there cost
    more than the 10% budget on a local server); records are built, once, when they are read.
    """

    def __init__(self, shorten: Callable[[str], str] = lambda s: s) -> None:
        self._raw: list[tuple[str, tuple[Any, ...], Any, str | None]] = []
        self._records: list[CommandRecord] = []
        self._lock = threading.Lock()
        self._shorten = shorten

    def append(self, client: str, sent: tuple[Any, ...], reply: Any, error: str | None) -> None:
        # A reply that is a list is copied now: it must not change after it was read.
        if isinstance(reply, list | dict):
            reply = freeze(reply)
        with self._lock:
            self._raw.append((client, sent, reply, error))

    def _build(self) -> None:
        # Caller holds the lock.
        for client, sent, reply, error in self._raw[len(self._records) :]:
            words = tuple(_text(a) for a in sent)
            self._records.append(make_record(client, words, reply, error, self._shorten))

    def shorten_value(self, value: Any) -> Any:
        return shorten_value(value, self._shorten)

    def mark(self) -> int:
        with self._lock:
            return len(self._raw)

    def since(self, mark: int) -> tuple[CommandRecord, ...]:
        with self._lock:
            self._build()
            return tuple(self._records[mark:])

    def __len__(self) -> int:
        with self._lock:
            return len(self._raw)


def make_record(
    client: str,
    words: tuple[str | bytes, ...],
    reply: Any,
    error: str | None,
    shorten: Callable[[str], str],
) -> CommandRecord:
    """The record of one command, from the words as Redis received them (text, or bytes that are
    not UTF-8) and the reply as read: names short, the reply frozen. Every recorder makes its
    records here: a lesson's connections (CommandLog), its embedded server, and a trace's pipe
    (modes/trace/parent.py)."""
    return CommandRecord(
        client=client,
        args=tuple(_short(shorten, a) for a in words),
        reply=shorten_value(freeze(reply), shorten),
        error=error,
        sent=words,
    )


def shorten_value(value: Any, shorten: Callable[[str], str]) -> Any:
    """A frozen reply with the names in it short: replies can name keys and channels too (a
    pub/sub message names its channel)."""
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "surrogateescape")
        short = shorten(text)
        return value if short == text else short.encode("utf-8", "surrogateescape")
    if isinstance(value, tuple):
        return type(value)(shorten_value(v, shorten) for v in value)  # keeps list, dict, tuple
    return value


class HandshakeMarked(ConnectionMixin):
    """Mix into a connection: `_in_handshake` is True while redis-py's own handshake runs (HELLO,
    AUTH, CLIENT SETINFO, ...), which is no command of the run's."""

    _in_handshake = False

    def on_connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        self._in_handshake = True
        try:
            super().on_connect_check_health(*args, **kwargs)
        finally:
            self._in_handshake = False


class RecordingMixin(HandshakeMarked):
    """Mix into a redis-py connection class; pass `command_log=` and `lane=` as connection kwargs."""

    def __init__(self, *args: Any, command_log: CommandLog, lane: str, **kwargs: Any) -> None:
        self._command_log = command_log
        self._lane = lane
        self._pending: deque[tuple[str, ...]] = deque()
        super().__init__(*args, **kwargs)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if not self._in_handshake:
            self._pending.append(args)
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def pack_commands(self, commands: Any) -> Any:
        # Pipelines and MULTI/EXEC send their commands packed together, bypassing send_command.
        if not self._in_handshake:
            self._pending.extend(tuple(command) for command in commands)
        return super().pack_commands(commands)  # type: ignore[no-untyped-call]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            reply = super().read_response(*args, **kwargs)
        except Exception as exc:
            if not self._in_handshake and self._pending and _is_reply_error(exc):
                self._command_log.append(self._lane, self._pending.popleft(), None, str(exc))
            raise
        if not self._in_handshake:
            sent = self._pending.popleft() if self._pending else ()
            self._command_log.append(self._lane, sent, reply, None)
        return reply

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        self._pending.clear()
        super().disconnect(*args, **kwargs)  # type: ignore[no-untyped-call]


def send_unrecorded(connection: Any, *args: Any) -> Any:
    """Send one command that belongs to the tutor, not to the lesson (CLIENT ID), on a recording
    connection, and read its reply; neither is recorded."""
    connection._in_handshake = True
    try:
        connection.send_command(*args)
        return connection.read_response()
    finally:
        connection._in_handshake = False


def _is_reply_error(exc: Exception) -> bool:
    # A ResponseError is Redis's own answer (WRONGTYPE, ...); a connection failure is not a reply.
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError)
