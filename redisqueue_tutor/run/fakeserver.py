"""The embedded server of a run records every command where it arrives, and serves on loopback.

fakeredis parses every client's commands in one method of its socket class,
`BaseFakeSocket._process_command(fields)`, for in-process clients and for its TCP server alike,
and every reply or pushed message leaves through `put_response(msg)`. Wrapping those two methods
records, in the order the server runs them, every command of every client of every process
(redis-py sync and asyncio, `redis-cli`, a Celery worker), its reply, and each message pushed to
a subscriber; the connection that sent it is named by its CLIENT SETNAME. Only servers
registered here are recorded; every other FakeServer is left alone.

This leans on two private methods of fakeredis, and on the `select` its TCP handler waits with
(replaced by a poll() that takes any descriptor): tests/test_fakeserver.py pins the versions it is
proven on and fails the day they change. The served server also answers what fakeredis does not:
INFO (a server section, as workers ask before their first command) and a CLIENT INFO whose
addresses redis-py can parse.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fakeredis
from fakeredis._clients import _tcp_server
from fakeredis._clients._tcp_server import TCPFakeRequestHandler, TcpFakeServer
from fakeredis._core import FakeServer
from fakeredis._socket._base import BaseFakeSocket

PROVEN_ON = ("2.40", "2.41")  # fakeredis versions whose dispatch these hooks are proven on
SERVER_VERSION = (7, 0)


@dataclass(frozen=True)
class ServerEvent:
    """One thing the server did for one connection: a command and its replies, or a push."""

    seq: int  # the server's order
    connection: int  # the server's client id
    name: str  # the connection's CLIENT SETNAME, "" before it has one
    db: int
    command: tuple[bytes, ...]  # as the server received it; () for a push
    replies: tuple[Any, ...]  # what the server answered (several for SUBSCRIBE a b), or pushed
    push: bool
    t: float  # time.monotonic() when the server finished with it


class ServerRecorder:
    """The events of one FakeServer, handed to `on_event` as the server produces them.

    `on_event` runs on the thread of the client whose command it is (or of the publisher, for a
    push): keep it cheap. Events of one connection arrive in its order; `seq` orders them all.
    """

    def __init__(self, server: FakeServer, on_event: Callable[[ServerEvent], None] | None) -> None:
        """`on_event` None: only correct the replies where fakeredis differs from Redis (a run
        that records elsewhere, as `tutor trace` does at its connections)."""
        self.server = server
        self.on_event = on_event
        self._seq = itertools.count(1)
        self._local = threading.local()
        _RECORDERS[server] = self

    def close(self) -> None:
        _RECORDERS.pop(self.server, None)

    # -- called by the hooks ----------------------------------------------------------------
    def began(self, sock: BaseFakeSocket, fields: list[bytes]) -> None:
        self._local.current = (sock, fields, [])

    def replied(self, sock: BaseFakeSocket, message: Any) -> Any:
        """Record a reply of the command being processed, or a message pushed to `sock`; returns
        the message as Redis would send it (corrected where fakeredis differs)."""
        current = getattr(self._local, "current", None)
        if current is None or current[0] is not sock:
            if self.on_event is not None:
                self._emit(sock, (), (message,), push=True)
            return message
        message = as_redis_answers(current[1], message)
        current[2].append(message)
        return message

    def ended(self, sock: BaseFakeSocket) -> None:
        current = getattr(self._local, "current", None)
        self._local.current = None
        if current is not None and self.on_event is not None:
            _sock, fields, replies = current
            self._emit(sock, tuple(bytes(f) for f in fields), tuple(replies), push=False)

    def _emit(
        self,
        sock: BaseFakeSocket,
        command: tuple[bytes, ...],
        replies: tuple[Any, ...],
        *,
        push: bool,
    ) -> None:
        info = sock._client_info
        name = info.get("name") or ""
        assert self.on_event is not None
        self.on_event(
            ServerEvent(
                seq=next(self._seq),
                connection=int(info.get("id") or 0),
                name=name.decode() if isinstance(name, bytes) else str(name),
                db=int(sock._db_num),
                command=command,
                replies=replies,
                push=push,
                t=time.monotonic(),
            )
        )


_RECORDERS: weakref.WeakKeyDictionary[FakeServer, ServerRecorder] = weakref.WeakKeyDictionary()
_ORIGINAL_PROCESS = BaseFakeSocket._process_command
_ORIGINAL_PUT = BaseFakeSocket.put_response


def _server_info() -> bytes:
    major, minor = SERVER_VERSION
    lines = [
        "# Server",
        f"redis_version:{major}.{minor}.0",
        "redis_mode:standalone",
        "os:embedded fakeredis " + fakeredis.__version__,
        "# Replication",
        "role:master",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _process_command(self: BaseFakeSocket, fields: list[bytes]) -> None:
    if len(fields) == 1 and bytes(fields[0]).lower() == b"hello":
        # A bare HELLO keeps the connection's protocol on Redis; fakeredis 2.41 turns it back to
        # RESP2, and a RESP3 client (the class's link says HELLO to learn the server) then reads
        # RESP2 replies: an XREAD's dict comes as a list.
        fields = [*fields, str(self._client_info.get("resp") or 2).encode()]
    password = _PASSWORDS.get(self._server)
    if password is not None and not _authenticated(self, fields, password):
        return
    recorder = _RECORDERS.get(self._server)
    if recorder is None:
        _ORIGINAL_PROCESS(self, fields)
        return
    if recorder.on_event is None and bytes(fields[0]).lower() not in _CORRECTED:
        _ORIGINAL_PROCESS(self, fields)  # nothing to record, nothing to correct: the hot path
        return
    recorder.began(self, fields)
    try:
        if fields and bytes(fields[0]).lower() == b"info":
            # fakeredis knows no INFO; workers (RQ, Celery's inspect) ask for it first.
            self.put_response(_server_info())
        else:
            _ORIGINAL_PROCESS(self, fields)
    finally:
        recorder.ended(self)


# A server served on the network with a password (`tutor class open --serve`): fakeredis keeps
# ACL users but lets every connection in, so the password is asked here, as Redis asks it.
_PASSWORDS: weakref.WeakKeyDictionary[FakeServer, bytes] = weakref.WeakKeyDictionary()
_SIGNED_IN: weakref.WeakSet[BaseFakeSocket] = weakref.WeakSet()


def _authenticated(sock: BaseFakeSocket, fields: list[bytes], password: bytes) -> bool:
    """Whether the command may go on; when it may not, its answer is already sent. AUTH [user]
    password and HELLO ... AUTH user password sign a connection in; nothing else passes first."""
    if sock in _SIGNED_IN:
        return True
    from fakeredis._helpers import OK, SimpleError

    words = [bytes(f) for f in fields]
    name = words[0].lower() if words else b""
    given: bytes | None = None
    user = b"default"
    if name == b"auth" and len(words) in (2, 3):
        user, given = (words[1] if len(words) == 3 else user), words[-1]
    elif name == b"hello":
        upper = [w.upper() for w in words]
        if b"AUTH" in upper and upper.index(b"AUTH") + 2 < len(words):
            at = upper.index(b"AUTH")
            user, given = words[at + 1], words[at + 2]
            del fields[at : at + 3]  # HELLO goes on without it: fakeredis checks no password
    elif name == b"quit":
        return True
    if given is None:
        sock.put_response(SimpleError("NOAUTH Authentication required."))
        return False
    if user != b"default" or not secrets.compare_digest(given, password):
        sock.put_response(
            SimpleError("WRONGPASS invalid username-password pair or user is disabled.")
        )
        return False
    _SIGNED_IN.add(sock)
    if name == b"auth":
        sock.put_response(sock._decode_result(OK))  # as fakeredis sends its own OK
        return False  # answered here
    return True


# Commands whose replies are corrected (as_redis_answers) or answered here (INFO).
_CORRECTED = frozenset({b"info", b"xpending"})


def _put_response(self: BaseFakeSocket, message: Any) -> None:
    recorder = _RECORDERS.get(self._server)
    if recorder is not None:
        message = recorder.replied(self, message)
    _ORIGINAL_PUT(self, message)


def as_redis_answers(fields: list[bytes], reply: Any) -> Any:
    """The reply as Redis gives it, where fakeredis differs in a way a lesson shows.

    XPENDING's summary: fakeredis 2.40 answers each consumer's count as an integer and no
    consumers as an empty array; Redis answers bulk strings and nil (pinned by
    tests/test_fakeredis_pins.py: when fakeredis changes, this goes).
    """
    if (
        len(fields) == 3
        and bytes(fields[0]).lower() == b"xpending"
        and isinstance(reply, list)
        and len(reply) == 4
    ):
        consumers = reply[3]
        fixed = None if not consumers else [[who, str(n).encode()] for who, n in consumers]
        return [*reply[:3], fixed]
    return reply


BaseFakeSocket._process_command = _process_command  # type: ignore[method-assign]
BaseFakeSocket.put_response = _put_response  # type: ignore[method-assign, assignment]


# --------------------------------------------------------------------------------------------------
# Serving the run's server on loopback


class _PollOnly:
    """`select.select` for fakeredis's TCP handler, by poll(): select() refuses a descriptor
    above 1023, which a traced program with a few hundred asyncio clients reaches (each client
    is four descriptors through the proxy), and fakeredis then answered "filedescriptor out of
    range in select()". The handler asks only whether its one socket is readable."""

    @staticmethod
    def select(
        read: list[Any], write: list[Any], error: list[Any], timeout: float | None = None
    ) -> tuple[list[Any], list[Any], list[Any]]:
        poller = select.poll()
        for item in read:
            poller.register(item, select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
        ready = {fd for fd, _events in poller.poll(None if timeout is None else timeout * 1000)}
        return [r for r in read if (r if isinstance(r, int) else r.fileno()) in ready], [], []


if hasattr(select, "poll"):  # not on Windows, where select() has no such limit
    _tcp_server.select = _PollOnly  # type: ignore[attr-defined, assignment]


class _Handler(TCPFakeRequestHandler):
    """fakeredis's handler, with the addresses CLIENT INFO reports written as Redis writes them
    (`127.0.0.1:5555`): its tuples made redis-py's parse_client_info fail (RQ's worker)."""

    def setup(self) -> None:
        super().setup()
        client = self.current_client
        info = getattr(client, "_client_info", None)
        if isinstance(info, dict):
            for key in ("addr", "laddr"):
                value = info.get(key)
                if isinstance(value, tuple) and len(value) >= 2:
                    info[key] = f"{value[0]}:{value[1]}"


class _Served(TcpFakeServer):
    """fakeredis's TCP server, its threads named as the tutor's own (`tutor-served-...`): a
    traced program's turns (modes/trace/tracer.py) do not wait for them."""

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"tutor-served-{client_address[1] if isinstance(client_address, tuple) else ''}",
            daemon=True,
        )
        thread.start()


class ServedServer:
    """A FakeServer served on 127.0.0.1 (a free port) for other processes and asyncio clients;
    or, for a class (`--serve`), on the address given, every connection asked for `password`."""

    def __init__(
        self, server: FakeServer, address: tuple[str, int] = ("127.0.0.1", 0), password: str = ""
    ) -> None:
        if password:
            _PASSWORDS[server] = password.encode()
        self._tcp = _Served(address, server_type="redis", server_version=SERVER_VERSION)
        self._tcp.fake_server = server  # every client of the run shares one server
        self._tcp.RequestHandlerClass = _Handler
        self._thread = threading.Thread(
            target=self._tcp.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tutor-fakeserver",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._tcp.server_address[1])

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def host(self) -> str:
        return str(self._tcp.server_address[0])

    @property
    def _wake_address(self) -> tuple[str, int]:
        host = self.host
        return ("127.0.0.1" if host in ("0.0.0.0", "") else host, self.port)

    def close(self) -> None:
        # shutdown() is seen when the serving loop wakes: a connection wakes it now, not at the
        # end of its poll (a traced program's every run paid that wait).
        stopping = threading.Thread(target=self._tcp.shutdown, name="tutor-fakeserver-stop")
        stopping.start()
        with contextlib.suppress(OSError), socket.create_connection(self._wake_address, 1):
            pass
        stopping.join(5)
        self._tcp.server_close()
        self._thread.join(5)


class NotAList(Exception):
    """The key holds another type: read it with commands."""


def read_list(server: FakeServer, db: int, key: bytes) -> list[bytes]:
    """A list of the embedded server as LRANGE 0 -1 would answer it, read from its database in
    place (a traced program's state view reads a list after every step that changes it; through
    a command that cost more than the program's own command). [] when the key is not there;
    NotAList when it holds another type. Private fakeredis API: pinned with the dispatch hooks
    (PROVEN_ON, tests/test_fakeserver.py compares it with LRANGE)."""
    with server.lock:
        database = server.dbs[db]
        item = database._dict.get(key)
        if item is None or (item.expireat is not None and item.expireat < time.time()):
            return []
        if not isinstance(item.value, list):
            raise NotAList(key)
        return list(item.value)


def new_server() -> FakeServer:
    return FakeServer(server_type="redis", version=SERVER_VERSION)
