"""The connection classes every client of a run is built on.

Recording (recorder.RecordingMixin) sits on top; beneath it, for a real server, socket timeouts
that fit the command being waited for, and for fakeredis, corrections where it answers differently
from Redis. Both stacks are what Backend.connection_pool hands out.
"""

from __future__ import annotations

import socket
from typing import Any

import redis

from redisqueue_tutor.keyspace.blocking import BLOCKING, _word, blocking_seconds
from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.run.recorder import ConnectionMixin, RecordingMixin

COMMAND_TIMEOUT = 10.0  # seconds for an answer to a non-blocking command


class GateMixin(ConnectionMixin):
    """Mix into a connection class, outermost: every command passes the run's gate (gate.py)
    before it is recorded or sent. Pass `gate=` as a connection kwarg. The connection handshake
    (HELLO, AUTH, CLIENT SETINFO) is redis-py's own, not a command of the run: it passes."""

    def __init__(self, *args: Any, gate: Gate, **kwargs: Any) -> None:
        self._gate = gate
        self._gate_handshake = False
        # What a layer above (the trace's) has just checked with this same gate, word for word:
        # not checked twice. Anything else is.
        self.gate_checked: Any = None
        super().__init__(*args, **kwargs)

    def on_connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        self._gate_handshake = True
        try:
            super().on_connect_check_health(*args, **kwargs)
        finally:
            self._gate_handshake = False

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        checked, self.gate_checked = self.gate_checked, None
        if not self._gate_handshake and args != checked:
            self._gate.check(args)
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def pack_commands(self, commands: Any) -> Any:
        checked, self.gate_checked = self.gate_checked, None
        if not self._gate_handshake and commands != checked:
            for command in commands:
                self._gate.check(command)
        return super().pack_commands(commands)  # type: ignore[no-untyped-call]


def _fake_connection_classes() -> tuple[type, type]:
    from fakeredis import FakeRedisConnection

    # fakeredis's read_response takes other arguments than redis-py's; the gate does not touch it.
    class GatedFake(GateMixin, FakeRedisConnection):  # type: ignore[misc]
        pass

    return GatedFake, GatedFake  # the embedded server records (run/fakeserver.py)


# --------------------------------------------------------------------------------------------------
# Real servers: connections that never re-send and never time out a command that blocks on purpose


_SUBSCRIBE = frozenset({"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"})
_MAY_WAIT = BLOCKING | _SUBSCRIBE


class CommandTimeouts(ConnectionMixin):
    """Mix into a real connection: a socket timeout that fits the command being waited for.

    redis-py's single socket_timeout applies to every read, so a BRPOP longer than it raised
    TimeoutError (and with its default retries was RE-SENT). Here an ordinary command gets
    `socket_timeout`; a blocking one its own timeout plus that margin (none for "block forever");
    a subscribed connection none at all, since waiting for messages is its job.
    """

    socket_timeout: float | None

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        sock: socket.socket | None = getattr(self, "_sock", None)
        if not args or sock is None or _word(args[0]).upper() not in _MAY_WAIT:
            return  # the common case, kept cheap: this runs for every command
        wait = blocking_seconds(args)
        subscribing = _word(args[0]).upper() in _SUBSCRIBE
        if subscribing or wait == 0:
            sock.settimeout(None)
        elif wait is None:
            return
        else:
            sock.settimeout(wait + (self.socket_timeout or COMMAND_TIMEOUT))
        self._subscribed = subscribing or getattr(self, "_subscribed", False)
        self._stretched = not subscribing

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        finally:
            if getattr(self, "_stretched", False):
                self._stretched = False
                sock: socket.socket | None = getattr(self, "_sock", None)
                if sock is not None and not getattr(self, "_subscribed", False):
                    sock.settimeout(self.socket_timeout)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        self._subscribed = self._stretched = False
        super().disconnect(*args, **kwargs)  # type: ignore[no-untyped-call]


class TimedConnection(CommandTimeouts, redis.Connection):
    pass


class TimedSSLConnection(CommandTimeouts, redis.SSLConnection):
    def _wrap_socket_with_ssl(self, sock: socket.socket) -> Any:
        # redis-py does the TLS handshake under socket_timeout; a TLS client talking to a plain
        # server then waits that long for an answer that never comes. Use the connect timeout.
        sock.settimeout(self.socket_connect_timeout)
        # redis-py leaves this method unannotated (untyped_calls_exclude misses super() calls).
        wrapped = super()._wrap_socket_with_ssl(sock)  # type: ignore[no-untyped-call]
        wrapped.settimeout(self.socket_timeout)
        return wrapped


class TimedUnixConnection(CommandTimeouts, redis.UnixDomainSocketConnection):
    pass


class GatedConnection(GateMixin, TimedConnection):
    pass


class GatedSSLConnection(GateMixin, TimedSSLConnection):
    pass


class GatedUnixConnection(GateMixin, TimedUnixConnection):
    pass


class RecordingConnection(GateMixin, RecordingMixin, TimedConnection):
    pass


class RecordingSSLConnection(GateMixin, RecordingMixin, TimedSSLConnection):
    pass


class RecordingUnixConnection(GateMixin, RecordingMixin, TimedUnixConnection):
    pass


# Every connection of a run passes the gate; the recording ones also record.
CONNECTION_CLASSES: dict[str, tuple[type, type]] = {
    "redis": (GatedConnection, RecordingConnection),
    "rediss": (GatedSSLConnection, RecordingSSLConnection),
    "unix": (GatedUnixConnection, RecordingUnixConnection),
}
