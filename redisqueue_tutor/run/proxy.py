"""The recording proxy: a loopback port in front of a real Redis, where a run's commands arrive.

Any client of any process or language (redis-py, `redis.asyncio`, `redis-cli`, a Celery worker)
that connects to `RecordingProxy.url` is recorded the same way, and the run's namespace is applied
where its commands arrive:

- every command passes the run's gate (keyspace/gate.py) with its names already namespaced; a
  refused one is answered `-ERR the tutor refused ...` and never reaches the server;
- every key, channel and pattern (Redis's own key specifications: `name_positions`) gets the
  run's prefix; in replies, every string that starts with the prefix loses it, so a client sees
  its own short names (BRPOP's key, a message's channel) and every other byte as the server sent
  it (resp.py rewrites tokens; hiredis reads the values for the record);
- each reply is paired with its command (first in, first out per connection; SUBSCRIBE of N
  channels has N confirmations; a message pushed to a subscriber has no command) and becomes one
  WireEvent, in the order the replies arrive.

The proxy authenticates to the server itself (the URL's user and password) and selects the URL's
db, so clients connect to the loopback port with no password. A client's own AUTH is answered
`+OK` by the proxy and `HELLO ... AUTH user password` loses its AUTH part: a program that keeps the
credentials of its own URL still connects, and no client's password reaches the server. SELECT
is refused by the gate, unless the proxy is made with `databases=True`: then a client may choose
another database (redis-py's `Redis(db=2)`), where its keys are namespaced as in the first, and
each event says which database its command ran in.

Each client connection is served by one thread (a select loop over the client's socket and its
own upstream connection, with output buffers both ways, so a client that pipelines without
reading cannot stall the proxy). `on_event` is called from those threads, one call at a time in
`seq` order: keep it cheap (append to a list or a queue).
"""

from __future__ import annotations

import itertools
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import hiredis
import redis

from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.run.faults import connect_failure
from redisqueue_tutor.run.proxy_session import CHUNK, ClientSession, Unreachable
from redisqueue_tutor.run.resp import command_reader, encode


@dataclass(frozen=True)
class WireEvent:
    """One reply (or one pushed message) and the command it answers, as the client saw both."""

    connection: int  # the proxy's own number for the client connection, from 1
    name: str  # the connection's CLIENT SETNAME (or HELLO SETNAME), "" before one
    command: tuple[bytes, ...]  # as the client sent it, before namespacing; () for a push
    reply: Any  # hiredis's reading of the reply: bytes stay bytes; None for an error
    error: str | None  # the server's error reply, or why the connection was lost
    refused: str | None  # why the gate refused the command (it never reached the server)
    push: bool  # a message pushed to a subscriber, with no command
    seq: int  # the order of all events of the proxy, from 1
    t: float  # time.monotonic() when the reply arrived
    peer: int = 0  # the client's own port: which of a process's connections it was
    db: int = 0  # the database the connection was in when the command ran
    lost: bool = False  # the connection was lost here: `error` says why


class RecordingProxy:
    """A recording, namespacing proxy on 127.0.0.1 in front of the server at `upstream_url`.

    `upstream_url` is read as redis-py reads it (`redis.connection.parse_url`): redis://,
    rediss:// with its ssl_* options, unix://; its user, password and db are the proxy's own.
    `prefix` is the run's namespace; `gate` says what may be sent; `on_event` receives every
    WireEvent, from the proxy's threads (see the module's docstring).

        with RecordingProxy(url, prefix=ns.prefix, gate=Gate(ns.prefix), on_event=events.append)
        as proxy:
            redis.Redis.from_url(proxy.url).lpush("queue", "job")  # lands in tutor:{id}:queue
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        prefix: str,
        gate: Gate,
        on_event: Callable[[WireEvent], None],
        databases: bool = False,
    ) -> None:
        params: dict[str, Any] = redis.connection.parse_url(upstream_url)
        connection_class = params.pop("connection_class", redis.connection.Connection)
        self._username: str | None = params.pop("username", None)
        self._password: str | None = params.pop("password", None)
        self.db = int(params.pop("db", 0) or 0)
        # Whether clients may SELECT another database; their keys are namespaced there too.
        self.databases = databases
        # redis-py's own connection class opens the socket (its _connect), so TLS files, timeouts
        # and keepalive are read exactly as redis-py reads them; the handshake is ours.
        self._dialer: Any = connection_class(**params)
        self._tls = isinstance(self._dialer, redis.connection.SSLConnection)
        self._address = str(params.get("path") or f"{self._dialer.host}:{self._dialer.port}")
        self.prefix = prefix
        self.prefix_bytes = prefix.encode()
        self.gate = gate
        self._on_event = on_event
        self.problems: list[str] = []  # why connections ended badly, one line each
        self._lock = threading.Lock()
        self._emitting = threading.Lock()
        self._seq = itertools.count(1)
        self._numbers = itertools.count(1)
        self._sessions: set[ClientSession] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self.wake, self._wake_writer = socket.socketpair()
        self._closed = False

    # -- what a client and the fault messages need to know -----------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """The URL a client uses: no password, db 0 (the proxy selects the server's db)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return self._address

    @property
    def tls(self) -> bool:
        return self._tls

    @property
    def credentials(self) -> tuple[str | None, str | None]:
        return self._username, self._password

    def short(self, name: str) -> str:
        return name.removeprefix(self.prefix)

    # -- life --------------------------------------------------------------------------------------

    def start(self) -> RecordingProxy:
        if self._listener is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._accepting = threading.Thread(
            target=self._accept, name="tutor-proxy-accept", daemon=True
        )
        self._accepting.start()
        return self

    def close(self) -> None:
        """Stop accepting, close every client connection both ways (and its connection to the
        server), join every thread. A connection still opening waits for the server's answer,
        at most the URL's socket_connect_timeout (redis-py's default: 5 s)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions = list(self._sessions)
        self._wake_writer.send(b"x")  # never read: every select loop sees it from now on
        for session in sessions:
            session.stop()
        if self._accepting is not None:
            self._accepting.join()
        for session in sessions:
            session.thread.join()
        if self._listener is not None:
            self._listener.close()
        self.wake.close()
        self._wake_writer.close()

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self.wake, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self.wake:
                        return
                    try:
                        client, _ = listener.accept()
                    except OSError:  # gone before it was accepted, or out of descriptors
                        continue
                    if not self._serve(client):
                        return

    def _serve(self, client: socket.socket) -> bool:
        """Start a thread for a new client connection; False once the proxy is closing."""
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # gone already
            client.close()
            return True
        session = ClientSession(self, next(self._numbers), client)
        with self._lock:
            if self._closed:
                client.close()
                return False
            self._sessions.add(session)
        try:
            session.thread.start()
        except RuntimeError as exc:  # no thread to be had: this client is turned away
            self.note(f"a client connection could not be served: {exc!r}")
            self.forget(session)
            client.close()
        return True

    def forget(self, session: ClientSession) -> None:
        with self._lock:
            self._sessions.discard(session)

    # -- the server side ---------------------------------------------------------------------------

    def connect_upstream(self, session: ClientSession) -> None:
        """Open a client connection's own connection to the server (AUTH and SELECT as the URL
        says) as session.upstream; raise Unreachable with one line that says why not."""
        try:
            sock: socket.socket = self._dialer._connect()
        except TimeoutError as exc:
            raise Unreachable(connect_failure(redis.TimeoutError(str(exc)), self)) from None
        except (OSError, redis.RedisError) as exc:
            error = redis.ConnectionError(f"Error connecting to {self._address}: {exc}")
            raise Unreachable(connect_failure(error, self)) from None
        session.upstream = sock
        if session.stopping:  # close() came while connecting: stop() found no socket
            raise Unreachable("the proxy is closing")
        try:
            self._handshake(sock)
        except redis.RedisError as exc:
            raise Unreachable(connect_failure(exc, self)) from None
        except OSError as exc:
            error = redis.ConnectionError(f"Error connecting to {self._address}: {exc}")
            raise Unreachable(connect_failure(error, self)) from None

    def _handshake(self, sock: socket.socket) -> None:
        steps: list[tuple[str, ...]] = []
        if self._password is not None:
            steps.append(
                ("AUTH", self._username, self._password)
                if self._username
                else ("AUTH", self._password)
            )
        if self.db:
            steps.append(("SELECT", str(self.db)))
        if not steps:
            return
        sock.sendall(b"".join(encode(tuple(w.encode() for w in step)) for step in steps))
        reader, nothing = command_reader()
        for step in steps:
            while (value := reader.gets()) is nothing:
                data = sock.recv(CHUNK)
                if not data:
                    raise redis.ConnectionError("Connection closed by server.")
                reader.feed(data)
            if isinstance(value, hiredis.ReplyError):
                if step[0] == "AUTH":
                    raise redis.AuthenticationError(str(value))
                raise redis.ResponseError(f"SELECT {self.db}: {value}")

    # -- events ------------------------------------------------------------------------------------

    def emit(
        self,
        session: ClientSession,
        command: tuple[bytes, ...],
        reply: Any,
        *,
        error: str | None = None,
        refused: str | None = None,
        push: bool = False,
        lost: bool = False,
    ) -> None:
        with self._emitting:
            event = WireEvent(  # by position: the fields' order; a little quicker
                session.number,
                session.name,
                command,
                reply,
                error,
                refused,
                push,
                next(self._seq),
                time.monotonic(),
                session.peer,
                session.db,
                lost,
            )
            try:
                self._on_event(event)
            except Exception as exc:  # a recorder's bug must not end the program's connection
                self.note(f"on_event failed: {exc!r}")

    def note(self, line: str) -> None:
        with self._lock:
            if len(self.problems) < 100:
                self.problems.append(line)
