"""The RESP stream as the recording proxy (proxy.py) handles it: where one reply ends, and the
run's prefix taken off the names a reply carries.

hiredis reads the values; this module only finds the boundaries of whole replies and rewrites a
few tokens, so a reply reaches the client byte for byte as the server sent it except where a name
is shortened. Its loops step over tokens (a line, or a bulk string skipped by its length), never
over the bytes of a value.
"""

from __future__ import annotations

from typing import Any

import hiredis

# Type bytes of RESP2 and RESP3 (https://redis.io/docs/latest/develop/reference/protocol-spec/).
_LENGTH = frozenset(b"$=!")  # a length line, then that many bytes and CRLF
_COUNT = frozenset(b"*~>")  # a count of values that follow: array, set, push
MAP = ord("%")  # a count of key/value pairs
ATTRIBUTE = ord("|")  # pairs that describe the reply after them; not a value of their own
PUSH = ord(">")
ARRAY = ord("*")
_BULK = ord("$")
_SIMPLE = ord("+")


class ProtocolError(Exception):
    """Bytes that are not RESP as Redis sends it (streamed strings, `?` lengths, garbage)."""


class ReplyFramer:
    """Cuts the server's byte stream into whole replies.

    Resumable: a reply that arrives in many pieces (a long LRANGE, a large value) is scanned once,
    from where the last piece ended, not from its start every time.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._start = 0  # where the reply being cut starts
        self._scan = 0  # the token where scanning resumes
        self._need = 1  # values the reply still needs

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next_reply(self) -> tuple[int, int] | None:
        """(start, end) of the next whole reply in `buffer`; None until more bytes arrive."""
        buf = self.buffer
        size = len(buf)
        pos, need = self._scan, self._need
        try:
            while need:
                if pos >= size:
                    break
                line = buf.find(b"\r\n", pos)
                if line < 0:
                    break
                kind = buf[pos]
                if kind in _LENGTH:
                    length = int(buf[pos + 1 : line])
                    end = line + 4 + length if length >= 0 else line + 2
                    if end > size:
                        break
                    pos = end
                elif kind in _COUNT:
                    need += max(int(buf[pos + 1 : line]), 0)
                    pos = line + 2
                elif kind == MAP:
                    need += 2 * max(int(buf[pos + 1 : line]), 0)
                    pos = line + 2
                elif kind == ATTRIBUTE:
                    need += 2 * max(int(buf[pos + 1 : line]), 0) + 1
                    pos = line + 2
                else:  # + - : , # _ ( and the like: one line
                    pos = line + 2
                need -= 1
        except ValueError:
            raise ProtocolError(f"unreadable RESP at {bytes(buf[pos : pos + 20])!r}") from None
        if need:
            self._scan, self._need = pos, need
            return None
        start = self._start
        self._start = self._scan = pos
        self._need = 1
        return start, pos

    def compact(self) -> None:
        """Forget the replies already cut."""
        if self._start:
            del self.buffer[: self._start]
            self._scan -= self._start
            self._start = 0


def shorten(reply: bytes, prefix: bytes) -> bytes:
    """The reply with `prefix` taken off every bulk or simple string that starts with it and is
    longer than it (lengths adjusted); every other byte as it was. `reply` is one whole reply."""
    out: list[bytes] = []
    mark = pos = 0
    size, cut = len(reply), len(prefix)
    while pos < size:
        line = reply.find(b"\r\n", pos)
        kind = reply[pos]
        if kind in _LENGTH:
            length = int(reply[pos + 1 : line])
            data = line + 2
            if kind == _BULK and length > cut and reply.startswith(prefix, data):
                out += (reply[mark:pos], b"$%d\r\n" % (length - cut))
                mark = data + cut
            pos = data + length + 2 if length >= 0 else data
        elif kind == _SIMPLE and line - pos - 1 > cut and reply.startswith(prefix, pos + 1):
            out.append(reply[mark : pos + 1])
            mark = pos + 1 + cut
            pos = line + 2
        else:
            pos = line + 2
    if not out:
        return reply
    out.append(reply[mark:])
    return b"".join(out)


_NOTHING = object()


class ValueReader:
    """The value of one whole reply, read by hiredis (binary-safe: bytes stay bytes)."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader(notEnoughData=_NOTHING)

    def value(self, reply: bytes) -> Any:
        """hiredis's reading of `reply`: an error reply is a hiredis.ReplyError, a RESP3 push a
        list (hiredis.PushNotification). A reply hiredis cannot read (a blob error `!`, a map
        keyed by a list) is kept as its bytes."""
        try:
            self._reader.feed(reply)
            found: Any = _NOTHING
            # An attribute (`|`) comes out as a value of its own before the reply it describes.
            while (value := self._reader.gets()) is not _NOTHING:
                found = value
        except (hiredis.ProtocolError, TypeError, ValueError):
            self._reader = hiredis.Reader(notEnoughData=_NOTHING)
            return reply
        return reply if found is _NOTHING else found


def command_reader() -> tuple[Any, object]:
    """A hiredis reader for a client's commands, and what its gets() returns when it needs more."""
    return hiredis.Reader(notEnoughData=_NOTHING), _NOTHING


def encode(args: tuple[bytes, ...] | list[bytes]) -> bytes:
    """A command as a RESP array of bulk strings."""
    # hiredis's stub types its argument as a 1-tuple; it packs any number of words.
    return bytes(hiredis.pack_command(tuple(args)))  # type: ignore[arg-type]
