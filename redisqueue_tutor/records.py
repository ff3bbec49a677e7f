"""Frozen records of what a run did, and the plain-text forms of their values.

Records are copied at the moment they are made (tuples all the way down), so a later step can never
rewrite an earlier one: stepping back shows an earlier record, exactly. Nothing here talks to Redis
or prints; the renderer and the checker both read these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Value = Any  # a frozen value: None, bool, int, float, str, bytes, or the frozen containers below


class ListValue(tuple):  # type: ignore[type-arg]
    """A Python list, frozen. Reads as the program would print it: ['task2', 'task1']."""

    __slots__ = ()


class DictValue(tuple):  # type: ignore[type-arg]
    """A Python dict, frozen as its (key, value) pairs in order: {'task': 'resize'}."""

    __slots__ = ()

    def get(self, key: Any, default: Any = None) -> Any:
        return next((v for k, v in self if k == key), default)


class SetValue(tuple):  # type: ignore[type-arg]
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
    sent: tuple[str, ...] = ()
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

    @property
    def state_map(self) -> Mapping[str, Value]:
        return dict(self.state)

    @property
    def variable_map(self) -> Mapping[str, Value]:
        return dict(self.variables)


# --------------------------------------------------------------------------------------------------
# Plain-text forms, shared by the renderer and the checker (which compares them with a lesson's claims)


def python_text(value: Value) -> str:
    """How the value reads in Python, as repr shows it: 'task1', None, ['task2', 'task1'],
    ('queue', 'task1'), {'task': 'resize'}, b'x'."""
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
    if isinstance(reply, bool):
        return f"(integer) {int(reply)}"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, float):
        return f"(double) {reply}"
    if isinstance(reply, bytes | str):
        text = reply.decode("utf-8", "backslashreplace") if isinstance(reply, bytes) else reply
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
    if isinstance(reply, tuple):
        return "[" + ", ".join(_nested(item) for item in reply) + "]"
    return reply_text(reply)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


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
    """A command as a lesson writes it: LPUSH queue 'task1', XADD events 1-1 task 'resize'."""
    if not args:
        return ""
    name = args[0].upper()
    words = [name]
    for index, arg in enumerate(args[1:], start=1):
        bare = arg and not any(c.isspace() or c in "'\"" for c in arg)
        words.append(repr(arg) if _payload(name, index) or not bare else arg)
    return " ".join(words)


def state_text(state: tuple[tuple[str, Value], ...]) -> str:
    if len(state) == 1:
        return python_text(state[0][1])
    return "  ".join(f"{key}={python_text(value)}" for key, value in state)
