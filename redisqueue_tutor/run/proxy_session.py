"""One client connection of the recording proxy (proxy.py): its commands namespaced and gated on
the way in, its replies shortened and paired with their commands on the way out.

Pairing is first in, first out per connection, with the exceptions Redis makes: a subscription
command of N names has N confirmations (UNSUBSCRIBE alone: one per subscription held, or one); a
message pushed to a subscriber (a RESP3 push `>`, or on RESP2 a `message`/`pmessage`/`smessage`
array on a subscribed connection) answers no command; a blocking command simply answers later.

A refused command, or an AUTH, is forwarded as `ECHO` without its argument (an arity error that
runs nothing): its one error reply keeps the order of replies, and inside MULTI it makes the
server discard the transaction at EXEC, as when Redis itself rejects a command.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import hiredis

from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.keyspace.specs import UnknownKeys, names_at
from redisqueue_tutor.run.resp import (
    ARRAY,
    PUSH,
    ProtocolError,
    ReplyFramer,
    ValueReader,
    command_reader,
    encode,
    shorten,
)

CHUNK = 1 << 18  # bytes per recv: a pipeline's replies in few calls
HIGH_WATER = 1 << 22  # bytes waiting for a slow reader before the other side stops being read
SSL_WRITE = 1 << 18  # a TLS write is retried with the same bytes: give it a fixed size
PLACEHOLDER = encode((b"ECHO",))  # an arity error: runs nothing, answers one error reply

# Subscription commands: which set of the connection they change, and whether they add to it.
SUBSCRIPTIONS = {
    b"subscribe": ("channels", True),
    b"unsubscribe": ("channels", False),
    b"psubscribe": ("patterns", True),
    b"punsubscribe": ("patterns", False),
    b"ssubscribe": ("shard channels", True),
    b"sunsubscribe": ("shard channels", False),
}
MESSAGES = frozenset({b"message", b"pmessage", b"smessage"})
_SPECIAL = frozenset({b"auth", b"hello", b"client", b"quit", *SUBSCRIPTIONS})  # see _command


@dataclass(slots=True)
class _Pending:
    """A command sent upstream whose replies have not all arrived."""

    command: tuple[bytes, ...]
    kind: bytes = b""  # a subscription command, lower case: its replies are confirmations
    remaining: int = 1  # confirmations due; 0: one per subscription held (UNSUBSCRIBE alone)
    answer: bytes | None = None  # the proxy's own answer (AUTH), sent instead of the reply
    refused: str | None = None
    name: str | None = None  # the connection's name if the command succeeds
    protocol: int | None = None  # HELLO's protocol version
    db: int | None = None  # SELECT's database, where the proxy lets a client choose one


def one_line(text: str) -> bytes:
    return " ".join(text.split()).encode("utf-8", "backslashreplace")


IN, OUT = getattr(select, "POLLIN", 1), getattr(select, "POLLOUT", 4)


class _SelectorPoll:
    """select.poll's interface over selectors, where there is no poll (Windows)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def register(self, fd: int, mask: int) -> None:
        self._selector.register(fd, self._events(mask) or selectors.EVENT_READ)

    def modify(self, fd: int, mask: int) -> None:
        # selectors cannot watch for nothing: a side not to be read stays watched for reading,
        # so there the limit on a slow reader's buffer is only approximate.
        self._selector.modify(fd, self._events(mask) or selectors.EVENT_READ)

    def poll(self) -> list[tuple[int, int]]:
        return [
            (
                int(key.fd),
                (IN if events & selectors.EVENT_READ else 0)
                | (OUT if events & selectors.EVENT_WRITE else 0),
            )
            for key, events in self._selector.select()
        ]

    @staticmethod
    def _events(mask: int) -> int:
        return (selectors.EVENT_READ if mask & IN else 0) | (
            selectors.EVENT_WRITE if mask & OUT else 0
        )


class Unreachable(Exception):
    """The server cannot be reached: `line` says why, in one line."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = one_line(line)


class Host(Protocol):
    """What a session needs of its proxy."""

    prefix: str
    prefix_bytes: bytes
    gate: Gate
    wake: socket.socket  # readable once the proxy closes
    databases: bool  # whether a client may SELECT another database (its keys still namespaced)
    db: int  # the database each client connection starts in

    def short(self, name: str) -> str: ...

    def connect_upstream(self, session: ClientSession) -> None:
        """Set session.upstream, authenticated; raise Unreachable."""

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
    ) -> None: ...

    def note(self, line: str) -> None: ...

    def forget(self, session: ClientSession) -> None: ...


class ClientSession:
    """One client connection and its own connection to the server, served by one thread."""

    def __init__(self, proxy: Host, number: int, client: socket.socket) -> None:
        self.proxy = proxy
        self.number = number
        self.client = client
        self.db = proxy.db
        try:
            self.peer = int(client.getpeername()[1])
        except (OSError, IndexError, TypeError):  # gone already, or not TCP
            self.peer = 0
        self.upstream: socket.socket | None = None
        self.name = ""
        self.pending: deque[_Pending] = deque()
        # Inside MULTI: the commands queued so far, whose changes (a SELECT's database, a
        # name) take effect at EXEC, each if its own reply there is not an error.
        self.queued: list[_Pending] = []
        self.to_client = bytearray()
        self.to_server = bytearray()
        self.commands, self.nothing = command_reader()
        self.framer = ReplyFramer()
        self.values = ValueReader()
        self.resp3 = False
        self.subscriptions: dict[str, set[bytes]] = {
            kind: set() for kind, _ in SUBSCRIPTIONS.values()
        }
        self.quitting = False
        self.stopping = False
        self.thread = threading.Thread(target=self.run, name=f"tutor-proxy-{number}", daemon=True)

    # -- the thread ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            try:
                self.proxy.connect_upstream(self)
            except Unreachable as exc:
                if not self.stopping:  # recorded first: the client may look as soon as it reads
                    self.lost(exc.line.decode())
                    self._send_now(b"-ERR the tutor's proxy cannot reach Redis: %s\r\n" % exc.line)
                return
            self._serve()
        except Exception as exc:  # the proxy never ends a run with a traceback
            if not self.stopping:
                self.lost(f"the proxy dropped the connection: {exc!r}")
        finally:
            for sock in (self.client, self.upstream):
                if sock is not None:
                    sock.close()
            self.proxy.forget(self)

    def stop(self) -> None:
        """Wake the thread and end it (called by RecordingProxy.close from another thread)."""
        self.stopping = True
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # not SSLSocket's: no unwrap

    def _serve(self) -> None:
        client, upstream = self.client, self.upstream
        assert upstream is not None
        client.setblocking(False)
        upstream.setblocking(False)
        poller = select.poll() if hasattr(select, "poll") else _SelectorPoll()
        wake, near, far = self.proxy.wake.fileno(), client.fileno(), upstream.fileno()
        poller.register(wake, IN)
        poller.register(near, IN)
        poller.register(far, IN)
        near_mask = far_mask = IN
        while True:
            for fd, event in poller.poll():
                if fd == wake:
                    return
                # A hang-up or an error is read too: recv says which (b"" or an exception).
                if event & ~OUT and not (
                    self._from_client() if fd == near else self._from_server()
                ):
                    return
            if self.to_server:
                self._send(upstream, self.to_server)
            if self.to_client:
                self._send(client, self.to_client)
            # Stop reading a side while the other side does not take what it sent.
            mask = (IN if len(self.to_server) < HIGH_WATER else 0) | (OUT if self.to_client else 0)
            if mask != near_mask:
                poller.modify(near, near_mask := mask)
            mask = (IN if len(self.to_client) < HIGH_WATER else 0) | (OUT if self.to_server else 0)
            if mask != far_mask:
                poller.modify(far, far_mask := mask)

    @staticmethod
    def _send(sock: socket.socket, buffer: bytearray) -> None:
        try:
            if isinstance(sock, ssl.SSLSocket):
                sent = sock.send(buffer[:SSL_WRITE])
            else:
                sent = sock.send(buffer)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        del buffer[:sent]

    def _send_now(self, data: bytes) -> None:
        """Best effort, blocking briefly: the last words to a client before its connection ends."""
        with contextlib.suppress(OSError):
            self.client.settimeout(1)
            self.client.sendall(bytes(self.to_client) + data)

    def lost(self, why: str) -> None:
        command = self.pending[0].command if self.pending else ()
        self.proxy.note(f"connection {self.number}: {why}")
        self.proxy.emit(self, command, None, error=why, lost=True)

    # -- from the client -------------------------------------------------------------------------

    def _from_client(self) -> bool:
        try:
            data = self.client.recv(CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        try:
            self.commands_in(data)
        except hiredis.ProtocolError:
            self._send_now(
                b"-ERR Protocol error: the tutor's proxy reads commands as RESP arrays, as"
                b" redis-py and redis-cli send them (not inline commands)\r\n"
            )
            return False
        return True

    def commands_in(self, data: bytes) -> None:
        """Take bytes the client sent: whole commands go to `to_server`, namespaced, or wait for
        a refusal's turn. Raises hiredis.ProtocolError on bytes that are not RESP commands."""
        self.commands.feed(data)
        out = []
        try:
            while (args := self.commands.gets()) is not self.nothing:
                if not isinstance(args, list) or not args:
                    raise hiredis.ProtocolError("a command is an array of bulk strings")
                out.append(self._command(args))
        finally:
            self.to_server += b"".join(out)

    def _command(self, args: list[bytes]) -> bytes:
        """What is sent upstream for one command of the client, its _Pending queued."""
        proxy = self.proxy
        prefix = proxy.prefix_bytes
        command = tuple(args)
        words = [a.decode("utf-8", "surrogateescape") for a in args]
        try:
            positions = names_at(words)
        except UnknownKeys:
            positions = []  # the gate refuses a command whose names Redis cannot place
        sent = args  # `command` keeps what the client sent
        for i in positions:
            if not args[i].startswith(prefix):
                sent[i] = prefix + args[i]
                words[i] = proxy.prefix + words[i]
        head = args[0].lower()
        if head == b"select" and proxy.databases and len(words) == 2 and words[1].isdigit():
            # Another database: the client's keys are namespaced there as here (the run says
            # which databases it used, and cleans each).
            self.pending.append(_Pending(command, db=int(words[1])))
            return encode(sent)
        problem = proxy.gate.problem(words, proxy.short)
        if problem:
            self.pending.append(_Pending(command, refused=problem))
            return PLACEHOLDER
        entry = _Pending(command)
        if head in _SPECIAL:
            if head == b"auth":
                entry.answer = b"+OK\r\n"
                self.pending.append(entry)
                return PLACEHOLDER
            if head == b"hello":
                sent = _hello(sent, words, entry)
            elif head == b"client" and len(words) == 3 and words[1].lower() == "setname":
                entry.name = words[2]
            elif head in SUBSCRIPTIONS:
                entry.kind, entry.remaining = head, len(args) - 1
            elif head == b"quit":
                self.quitting = True
        self.pending.append(entry)
        return encode(sent)

    # -- from the server -------------------------------------------------------------------------

    def _from_server(self) -> bool:
        upstream = self.upstream
        assert upstream is not None
        try:
            data = upstream.recv(CHUNK)
            if isinstance(upstream, ssl.SSLSocket):  # records already decrypted: select can't see
                while upstream.pending():
                    data += upstream.recv(CHUNK)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return True
        except OSError as exc:
            if not self.stopping:
                self.lost(f"lost the connection to Redis ({exc})")
                self._send_now(b"")
            return False
        if not data:
            if not self.stopping:
                if not self.quitting:
                    self.lost("Redis closed the connection")
                self._send_now(b"")
            return False
        try:
            self.replies_in(data)
        except ProtocolError as exc:
            self.lost(f"the server's reply could not be read: {exc}")
            return False
        return True

    def replies_in(self, data: bytes) -> None:
        """Take bytes the server sent: each whole reply goes to `to_client` (names shortened)
        and becomes an event. Raises resp.ProtocolError on bytes that are not RESP."""
        framer = self.framer
        framer.feed(data)
        while (span := framer.next_reply()) is not None:
            self._reply(bytes(framer.buffer[span[0] : span[1]]))
        framer.compact()

    def _reply(self, raw: bytes) -> None:
        if self.proxy.prefix_bytes in raw:
            raw = shorten(raw, self.proxy.prefix_bytes)
        value = self.values.value(raw)
        kind = raw[0]
        head = self.pending[0] if self.pending else None
        if head is not None and head.kind and kind in (PUSH, ARRAY) and _confirms(value, head.kind):
            self._confirmation(head, raw, value)
        elif (
            head is None
            or kind == PUSH
            or (kind == ARRAY and not self.resp3 and _is_message(value) and self._subscribed())
        ):
            self.to_client += raw
            self.proxy.emit(self, (), value, push=True)
        else:
            self._answer(head, raw, value)

    def _subscribed(self) -> bool:
        return any(self.subscriptions.values())

    def _confirmation(self, head: _Pending, raw: bytes, value: list[Any]) -> None:
        which, adds = SUBSCRIPTIONS[head.kind]
        held = self.subscriptions[which]
        if head.remaining == 0:  # UNSUBSCRIBE without names: one reply per subscription, or one
            head.remaining = max(1, len(held))
        if adds:
            held.add(value[1])
        else:
            held.discard(value[1])
        head.remaining -= 1
        if head.remaining == 0:
            self.pending.popleft()
        self.to_client += raw
        self.proxy.emit(self, head.command, value)

    def _answer(self, head: _Pending, raw: bytes, value: Any) -> None:
        self.pending.popleft()
        if head.refused is not None:
            self.to_client += b"-ERR the tutor refused the command: %s\r\n" % one_line(head.refused)
            self.proxy.emit(self, head.command, None, refused=head.refused)
            return
        if head.answer is not None:
            self.to_client += head.answer
            self.proxy.emit(self, head.command, b"OK")
            return
        self.to_client += raw
        if isinstance(value, hiredis.ReplyError):
            self.proxy.emit(self, head.command, None, error=str(value))
            return
        self.proxy.emit(self, head.command, value)
        if value == b"QUEUED":  # inside MULTI: the name or database changes at EXEC, if ever
            self.queued.append(head)
            return
        verb = head.command[0].lower() if head.command else b""
        if verb in (b"multi", b"discard"):
            self.queued = []
        elif verb == b"exec":
            queued, self.queued = self.queued, []
            if isinstance(value, list):  # it ran: each queued change whose command succeeded
                for entry, result in zip(queued, value, strict=False):
                    if not isinstance(result, hiredis.ReplyError):
                        self._takes_effect(entry)
            return
        self._takes_effect(head)

    def _takes_effect(self, head: _Pending) -> None:
        """A command that succeeded changes the connection: its name, database, protocol."""
        if head.name is not None:
            self.name = head.name
        if head.db is not None:
            self.db = head.db
        if head.protocol is not None:
            self.resp3 = head.protocol == 3


def _hello(sent: list[bytes], words: list[str], entry: _Pending) -> list[bytes]:
    """HELLO as forwarded: without `AUTH user password` (the proxy authenticated already)."""
    if len(words) > 1:
        with contextlib.suppress(ValueError):
            entry.protocol = int(words[1])
    out, i = sent[:2], 2
    while i < len(sent):
        option = words[i].upper()
        if option == "AUTH" and i + 2 < len(sent):
            i += 3
        elif option == "SETNAME" and i + 1 < len(sent):
            entry.name = words[i + 1]
            out += sent[i : i + 2]
            i += 2
        else:
            out.append(sent[i])
            i += 1
    return out


def _confirms(value: Any, kind: bytes) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], bytes)
        and value[0].lower() == kind
    )


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and isinstance(value[0], bytes)
        and value[0] in MESSAGES
    )
