"""Frozen records of what a run did, and the plain-text forms of their values.

Records are copied at the moment they are made (tuples all the way down), so a later step can never
rewrite an earlier one: stepping back shows an earlier record, exactly. Nothing here talks to Redis
or prints; the renderer and the checker both read these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redisqueue_tutor.wording import printable

Value = Any  # a frozen value: None, bool, int, float, str, bytes, or the frozen containers below


class ListValue(tuple[Any, ...]):
    """A Python list, frozen. Reads as the program would print it: ['task2', 'task1']."""

    __slots__ = ()


class DictValue(tuple[Any, ...]):
    """A Python dict, frozen as its (key, value) pairs in order: {'task': 'resize'}."""

    __slots__ = ()

    def get(self, key: Any, default: Any = None) -> Any:
        return next((v for k, v in self if k == key), default)


class SetValue(tuple[Any, ...]):
    """A Python set, frozen in a stable order: {'a', 'b'}."""

    __slots__ = ()


def freeze(value: Any) -> Value:
    """A deep, immutable copy of a reply or variable that keeps its Python kind.

    redis-py hands a program lists, tuples and dicts (BRPOP gives the tuple ('queue', 'task1');
    XREADGROUP a list of lists of (id, dict) tuples). A learner copies what the tracker shows into
    code, so the frozen copy remembers which was which and `python_text` writes it back as `repr`
    would. Every container stays a tuple underneath, so indexing and comparison still work.
    """
    if isinstance(value, ListValue | DictValue | SetValue):
        return value
    if isinstance(value, list):
        return ListValue(freeze(v) for v in value)
    if isinstance(value, tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return DictValue((freeze(k), freeze(v)) for k, v in value.items())
    if isinstance(value, set | frozenset):
        return SetValue(sorted((freeze(v) for v in value), key=repr))
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


@dataclass(frozen=True)
class CommandRecord:
    """One command a client sent and what Redis answered, as seen on the connection.

    `client` names the lane that sent it (producer, consumer, ... or a student's name later on).
    `args` are shown with short key names; `sent` keeps the arguments exactly as sent.
    """

    client: str
    args: tuple[str, ...]
    reply: Value = None
    error: str | None = None
    sent: tuple[str | bytes, ...] = ()  # bytes: an argument that is not UTF-8
    # Sent but not answered yet when the step ended (a blocking command waiting for data).
    waiting: bool = False

    @property
    def name(self) -> str:
        return self.args[0].upper() if self.args else ""


@dataclass(frozen=True)
class StepRecord:
    number: int
    actor: str
    action: str
    commands: tuple[CommandRecord, ...]
    output: str
    state: tuple[tuple[str, Value], ...]
    variables: tuple[tuple[str, Value], ...]
    changed: frozenset[str] = field(default_factory=frozenset)
    crashed: tuple[str, ...] = ()  # clients that died at this step
    # How many receivers Redis counted for this step's PUBLISH beyond the run's own subscribers:
    # another client of the server (a monitoring tool's PSUBSCRIBE *, say).
    outside: int = 0
    # A scenario lesson's step: what the framework is doing with each command (parallel to
    # commands, "" where the lesson says nothing), the commands it left out of the table (x
    # shows them), and the project's lines that sent the commands.
    notes: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    undescribed: tuple[str, ...] = ()  # left out, but not quiet: the lesson says nothing of them

    @property
    def state_map(self) -> Mapping[str, Value]:
        return dict(self.state)

    @property
    def variable_map(self) -> Mapping[str, Value]:
        return dict(self.variables)


# --------------------------------------------------------------------------------------------------
# Long values, folded for the screen: a bounded preview that says the full size

FOLD_FROM = 200  # a str or bytes longer than this is shown as its beginning and its size
PREVIEW = 32  # characters (or bytes) of a folded value that are shown
FOLD_ITEMS = 20  # a list, tuple, dict or set with more items shows SHOWN_ITEMS at each end
SHOWN_ITEMS = 5
FOLD_LINES = 20  # a printed text with more lines shows its first SHOWN_LINES lines
SHOWN_LINES = 10
LINE_FROM = 2000  # a line of the program's own output longer than this is folded
LINE_PREVIEW = 200


class Summary(str):
    """A long payload told by what it is (a Celery message: its task, arguments and id), shown
    bare: `<message send_welcome_email('ana@example.com') 7c2e5983>`. For the screen only."""

    whole: str  # the payload as it was

    def __new__(cls, text: str, whole: str) -> Summary:
        made = super().__new__(cls, text)
        made.whole = whole
        return made


class FoldedStr(str):
    """The beginning of a long str, with the whole value's size: 'xxxx…' (10 MB). For the screen
    only: a str subclass so that code reading a command's words still works, but equal only to a
    folded value of the same beginning and size (two values that differ further on may match)."""

    size: int  # bytes of the whole value in UTF-8

    def __new__(cls, preview: str, size: int) -> FoldedStr:
        folded = super().__new__(cls, preview)
        folded.size = size
        return folded

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FoldedStr) and str.__eq__(self, other) and self.size == other.size

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


class FoldedBytes(bytes):
    """The beginning of a long bytes value, with the whole value's size: b'xxxx…' (10 MB)."""

    size: int

    def __new__(cls, preview: bytes, size: int) -> FoldedBytes:
        folded = super().__new__(cls, preview)
        folded.size = size
        return folded

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FoldedBytes) and bytes.__eq__(self, other) and self.size == other.size
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = bytes.__hash__


@dataclass(frozen=True)
class Shortened:
    """A long list, tuple, dict or set: the items at each end (a queue's head and tail) and how
    many it has: ['job99', 'job98', …, 'job1', 'job0'] (100 items)."""

    head: Value  # of the container's own kind
    tail: Value
    length: int


def size_text(size: int) -> str:
    """10 MB, 1.5 kB, 250 bytes: decimal units, as `ls -h --si` says them."""
    if size < 1000:
        return f"{size} bytes"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = round(size / scale, 1)
        if value < 1000 or unit == "GB":
            return f"{value:g} {unit}"
    raise AssertionError("unreachable")


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def fold(value: Value) -> Value:
    """The value as a screen shows it: each long str or bytes folded to a preview with its size,
    each long container to the items at its ends and its length. Linear in the value's size (a
    10 MB value costs a copy of its beginning), and a folded value folds to itself."""
    if isinstance(value, FoldedStr | FoldedBytes | Shortened | Summary):
        return value
    if isinstance(value, str):
        return value if len(value) <= FOLD_FROM else FoldedStr(value[:PREVIEW], _utf8_size(value))
    if isinstance(value, bytes):
        return value if len(value) <= FOLD_FROM else FoldedBytes(value[:PREVIEW], len(value))
    if type(value) in (ListValue, DictValue, SetValue, tuple):
        kind = type(value)
        if len(value) > FOLD_ITEMS:
            head = kind(fold(v) for v in value[:SHOWN_ITEMS])
            return Shortened(head, kind(fold(v) for v in value[-SHOWN_ITEMS:]), len(value))
        return kind(fold(v) for v in value)
    return value


def _folded_line(line: str, longest: int = FOLD_FROM, preview: int = PREVIEW) -> str:
    if len(line) <= longest:
        return line
    return f"{line[:preview]}… ({size_text(_utf8_size(line))})"


def fold_lines(text: str) -> str:
    """A program's output, every line of it, but each line too long for any screen (LINE_FROM)
    folded to its beginning and its size."""
    if len(text) <= LINE_FROM:
        return text
    return "\n".join(_folded_line(line, LINE_FROM, LINE_PREVIEW) for line in text.split("\n"))


def fold_text(text: str) -> str:
    """Printed text as a table cell shows it: long lines folded (fold_lines), and past FOLD_LINES
    lines, the first few and how many there are."""
    if len(text) <= FOLD_FROM and text.count("\n") < FOLD_LINES:
        return text
    lines = text.split("\n")
    shown = lines if len(lines) <= FOLD_LINES else lines[:SHOWN_LINES]
    out = [_folded_line(line) for line in shown]
    if len(shown) < len(lines):
        out.append(f"… ({len(lines):,} lines)")
    return "\n".join(out)


def _folded_text(value: FoldedStr | FoldedBytes, quote: str = "") -> str:
    """'xxxx…' (10 MB), or with `quote` as redis-cli quotes: "xxxx…" (10 MB)."""
    if quote:
        text = reply_text(bytes(value) if isinstance(value, bytes) else str(value))
        body = text[:-1] if text.endswith(quote) else text
        return f"{body}…{quote} ({size_text(value.size)})"
    shown = repr(bytes(value) if isinstance(value, bytes) else str(value))
    return f"{shown[:-1]}…{shown[-1]} ({size_text(value.size)})"


def _shortened_text(value: Shortened, head: str, tail: str) -> str:
    """[1, 2, …, 99, 100] (100 items): the texts of both ends, joined where the middle is."""
    return f"{head[:-1]}, …, {tail[1:]} ({value.length:,} items)"


# --------------------------------------------------------------------------------------------------
# Plain-text forms, shared by the renderer and the checker (which compares them with a lesson's claims)


def python_text(value: Value) -> str:
    """How the value reads in Python, as repr shows it: 'task1', None, ['task2', 'task1'],
    ('queue', 'task1'), {'task': 'resize'}, b'x'. A folded value (see fold) says its size."""
    if isinstance(value, FoldedStr | FoldedBytes):
        return _folded_text(value)
    if isinstance(value, Summary):
        return str.__str__(value)
    if isinstance(value, Shortened):
        return _shortened_text(value, python_text(value.head), python_text(value.tail))
    if isinstance(value, ListValue):
        return "[" + ", ".join(python_text(v) for v in value) + "]"
    if isinstance(value, DictValue):
        return "{" + ", ".join(f"{python_text(k)}: {python_text(v)}" for k, v in value) + "}"
    if isinstance(value, SetValue):
        return "{" + ", ".join(python_text(v) for v in value) + "}" if value else "set()"
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({python_text(value[0])},)"
        return "(" + ", ".join(python_text(v) for v in value) + ")"
    return repr(value)


def reply_text(reply: Value, error: str | None = None) -> str:
    """How redis-cli shows a reply: (integer) 2, "task1", (nil); an array on one line, 1) "a"  2) "b"."""
    if error is not None:
        return f"(error) {error}"
    if reply is None:
        return "(nil)"
    if isinstance(reply, FoldedStr | FoldedBytes):
        return _folded_text(reply, quote='"')
    if isinstance(reply, Summary):
        return str.__str__(reply)
    if isinstance(reply, Shortened):
        last = reply.length - len(reply.tail) + 1  # the number of the tail's first item
        lines = [f"{n}) {_nested(item)}" for n, item in enumerate(reply.head, start=1)]
        lines.append(f"… ({last - 1 - len(reply.head):,} more)")
        lines += [f"{n}) {_nested(item)}" for n, item in enumerate(reply.tail, start=last)]
        return "  ".join(lines)
    if isinstance(reply, bool):
        return f"(integer) {int(reply)}"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, float):
        return f"(double) {reply}"
    if isinstance(reply, bytes | str):
        text = reply.decode("utf-8", "surrogateescape") if isinstance(reply, bytes) else reply
        # Status replies read bare in redis-cli: OK, QUEUED (inside MULTI), PONG.
        return text if text in ("OK", "QUEUED", "PONG") else _quoted(text)
    if isinstance(reply, tuple):
        if not reply:
            return "(empty array)"
        # One line, numbered as redis-cli numbers an array's lines, so table rows stay short;
        # arrays inside it in brackets.
        return "  ".join(f"{number}) {_nested(item)}" for number, item in enumerate(reply, start=1))
    return str(reply)


def _nested(reply: Value) -> str:
    if isinstance(reply, Shortened):
        return _shortened_text(reply, _nested(reply.head), _nested(reply.tail))
    if isinstance(reply, tuple):
        return "[" + ", ".join(_nested(item) for item in reply) + "]"
    return reply_text(reply)


_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
}


def _quoted(text: str) -> str:
    """In double quotes, as redis-cli quotes a reply: control characters as escapes (\\n,
    \\x1b), never sent raw to the terminal."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    escaped = "".join(_ESCAPES.get(c) or (c if c.isprintable() else _escape(c)) for c in text)
    return f'"{escaped}"'


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Where a command carries data (the task, the message): those words are quoted, as Python would
# show a str ('task1'); names, ids, numbers and options are shown bare.
_PAYLOAD_FROM = {
    "LPUSH": 2,
    "RPUSH": 2,
    "LPUSHX": 2,
    "RPUSHX": 2,
    "SET": 2,
    "PUBLISH": 2,
    "LREM": 3,
}


def _payload(name: str, index: int) -> bool:
    if name == "XADD":
        return index >= 4 and index % 2 == 0  # XADD key id field value [field value ...]
    start = _PAYLOAD_FROM.get(name)
    return start is not None and index >= start


def command_text(args: tuple[str, ...], keys: frozenset[str] = frozenset()) -> str:
    """A command as a lesson writes it: LPUSH queue 'task1', XADD events 1-1 task 'resize'.

    Past FOLD_ITEMS arguments, the first and last few and how many are between (a push of 1,000
    tasks); a folded argument (see fold) says its size."""
    if not args:
        return ""
    words = _command_words(args)
    if len(args) > FOLD_ITEMS + 1:
        middle = len(args) - 1 - 2 * SHOWN_ITEMS
        words = [*words[: 1 + SHOWN_ITEMS], f"… ({middle:,} more)", *words[-SHOWN_ITEMS:]]
    return " ".join(words)


def _command_words(args: tuple[str, ...]) -> list[str]:
    name = args[0].upper()
    words = [name]
    for index, arg in enumerate(args[1:], start=1):
        if isinstance(arg, FoldedStr | FoldedBytes):
            words.append(_folded_text(arg))
            continue
        if isinstance(arg, Summary):
            words.append(str.__str__(arg))
            continue
        if isinstance(arg, bytes):  # not UTF-8: the bytes Redis received, as Python writes them
            words.append(repr(arg))
            continue
        bare = arg and arg.isprintable() and not any(c.isspace() or c in "'\"" for c in arg)
        words.append(repr(arg) if _payload(name, index) or not bare else arg)
    return words


def shown_text(command: CommandRecord) -> str:
    """A command as a row shows it; a message Redis pushed to a subscriber (no command was sent)
    as its receiver: "layer receives"."""
    return command_text(command.args) if command.args else f"{command.client} receives"


def state_text(state: tuple[tuple[str, Value], ...]) -> str:
    if len(state) == 1:
        return python_text(state[0][1])
    # A name with control bytes (kombu's 'celery\x06\x163') written as Redis received it.
    return "  ".join(f"{printable(key)}={python_text(value)}" for key, value in state)


def as_read(value: Any, decode: bool = True) -> Any:
    """A reply as a client reads it: with decode_responses, bytes become str (as redis-py's
    decoder does), keeping bytes that are not UTF-8 (a pickle, zlib data) as bytes."""
    if not decode:
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, list | tuple):
        return type(value)(as_read(v) for v in value)
    if isinstance(value, dict):
        return {as_read(k): as_read(v) for k, v in value.items()}
    if isinstance(value, set):
        return {as_read(v) for v in value}
    return value
