"""Where a command's keys and channels are, from Redis's own command specifications.

Redis describes every command (`COMMAND` / `COMMAND INFO`): its arity, flags, ACL categories and
**key specifications** (where the keys begin, how many there are), subcommands included. The
tutor ships that description as data (`keyspace/commands.json`, taken from a real redis-server by
`specs_from_server`; tests/test_commandspecs.py fails when the live server and the file disagree,
and compares every position this module finds with the server's own `COMMAND GETKEYS`), so the
same answer holds on fakeredis, which knows no key specifications, and on a real server.

Channels are not keys and have no specifications: the publish/subscribe family is described here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redisqueue_tutor.keyspace.scripts import argv_name_positions

DATA = "commands.json"


class UnknownKeys(Exception):
    """The command's key positions cannot be told from its arguments (an unknown command, a
    specification Redis marks as unknown, or arguments that do not fit it)."""


@dataclass(frozen=True)
class KeySpec:
    begin: tuple[Any, ...]  # ("index", i) | ("keyword", word, startfrom) | ("unknown",)
    find: tuple[Any, ...]  # ("range", lastkey, step, limit) | ("keynum", idx, first, step) | ...
    flags: frozenset[str]


@dataclass(frozen=True)
class CommandSpec:
    name: str  # "lmove", or "xgroup|create" for a subcommand
    arity: int
    flags: frozenset[str]
    categories: frozenset[str]  # "@write", "@list", "@dangerous", ...
    keys: tuple[KeySpec, ...]
    subcommands: dict[str, CommandSpec]

    @property
    def words(self) -> int:
        """How many words name the command: 1, or 2 for a subcommand (XGROUP CREATE)."""
        return self.name.count("|") + 1


def _spec(name: str, entry: dict[str, Any]) -> CommandSpec:
    return CommandSpec(
        name=name,
        arity=int(entry["arity"]),
        flags=frozenset(entry.get("flags", ())),
        categories=frozenset(entry.get("categories", ())),
        keys=tuple(
            KeySpec(tuple(k["begin"]), tuple(k["find"]), frozenset(k.get("flags", ())))
            for k in entry.get("keys", ())
        ),
        subcommands={
            sub: _spec(f"{name}|{sub}", value)
            for sub, value in entry.get("subcommands", {}).items()
        },
    )


@functools.cache
def _described() -> dict[str, Any]:
    """The shipped data as read: each command's specification is built the first time it is
    looked up (building all 240 costs more start-up than a lesson uses)."""
    text = resources.files("redisqueue_tutor.keyspace").joinpath(DATA).read_text(encoding="utf-8")
    commands: dict[str, Any] = json.loads(text)["commands"]
    return commands


@functools.cache
def command_spec(name: str) -> CommandSpec | None:
    """One command's specification, by lowercase name; None if Redis does not describe it."""
    entry = _described().get(name)
    return None if entry is None else _spec(name, entry)


def specs() -> dict[str, CommandSpec]:
    """Every command Redis describes, by lowercase name."""
    found = {name: command_spec(name) for name in _described()}
    return {name: spec for name, spec in found.items() if spec is not None}


def source() -> str:
    """Which server the shipped specifications were taken from."""
    text = resources.files("redisqueue_tutor.keyspace").joinpath(DATA).read_text(encoding="utf-8")
    return str(json.loads(text)["server"])


def _word(arg: Any) -> str:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg).decode("utf-8", "surrogateescape")
    return str(arg)


def split_words(args: tuple[Any, ...] | list[Any]) -> list[str]:
    """The words of a command as Redis receives them: redis-py sends "XGROUP CREATE" as one
    argument and splits it on the way out, so do the same."""
    words = [a if type(a) is str else _word(a) for a in args]
    if words and " " in words[0]:
        words = words[0].split() + words[1:]
    return words


def lookup(words: list[str]) -> CommandSpec | None:
    """The specification of a command (its subcommand's, where it has them)."""
    if not words:
        return None
    spec = command_spec(words[0].lower())
    if spec is None:
        return None
    if spec.subcommands and len(words) > 1:
        return spec.subcommands.get(words[1].lower(), spec)
    return spec


# Key specification flags that say the command may change the key: overwrite, read-write and
# remove (Redis's "write" key flags; RO keys are only read).
WRITE_FLAGS = frozenset({"OW", "RW", "RM"})


def written_positions(words: list[str]) -> list[int]:
    """Indexes of the keys the command may change: the keys a state view must read again after
    it, and no others. Raises UnknownKeys as key_positions does.

    Those its key specifications flag OW, RW or RM; and every key of a write command that flags
    none so (XREADGROUP's stream is "RO", yet it changes the group's pending entries)."""
    spec = lookup(words)
    if spec is None or "write" not in spec.flags:
        return []
    return key_positions(words, only=WRITE_FLAGS) or key_positions(words)


def key_positions(words: list[str], only: frozenset[str] | None = None) -> list[int]:
    """Indexes of the words that are keys, by the command's key specifications (those with a
    flag in `only`, when given).

    Follows Redis's own getKeysUsingKeySpecs (src/db.c): each specification finds where its keys
    begin (an index, or the word after a keyword), then which follow (a range, or a count given
    in the command). Raises UnknownKeys when that cannot be told.
    """
    spec = lookup(words)
    if spec is None:
        raise UnknownKeys(
            f"{words[0].upper() if words else 'an empty command'} is not a command Redis describes"
        )
    argc = len(words)
    if (spec.arity > 0 and argc != spec.arity) or (spec.arity < 0 and argc < -spec.arity):
        raise UnknownKeys(f"{spec.name.upper().replace('|', ' ')} has the wrong number of words")
    found: list[int] = []
    for key in spec.keys:
        if only is not None and not key.flags & only:
            continue
        if "incomplete" in key.flags:  # Redis itself needs command-specific code (MIGRATE)
            raise UnknownKeys(f"Redis cannot tell all the keys of {spec.name.upper()}")
        begin = _begin_search(spec, key, words)
        if begin is None:
            continue  # the keyword is not there: this specification finds no keys
        first, last, step = _find_keys(spec, key, words, begin)
        if last >= argc or first > argc:
            raise UnknownKeys(f"{spec.name.upper()} has fewer words than its keys need")
        found.extend(range(first, last + 1, step) if step > 0 else ())
    return sorted(set(found))


def _begin_search(spec: CommandSpec, key: KeySpec, words: list[str]) -> int | None:
    """Where a specification's keys begin: at an index, or after a keyword (None when the
    keyword is not there)."""
    argc = len(words)
    if key.begin[0] == "index":
        return int(key.begin[1])
    if key.begin[0] == "keyword":
        keyword, start = str(key.begin[1]).upper(), int(key.begin[2])
        indexes = range(start, argc) if start >= 0 else range(argc + start, 0, -1)
        return next((i + 1 for i in indexes if words[i].upper() == keyword), None)
    raise UnknownKeys(f"Redis cannot tell where the keys of {spec.name.upper()} are")


def _find_keys(
    spec: CommandSpec, key: KeySpec, words: list[str], first: int
) -> tuple[int, int, int]:
    """The first and last index of a specification's keys, and the step between them: a range,
    or a count the command gives."""
    argc = len(words)
    if key.find[0] == "range":
        lastkey, step, limit = int(key.find[1]), int(key.find[2]), int(key.find[3])
        if lastkey >= 0:
            return first, first + lastkey, step
        if not limit:
            return first, argc + lastkey, step
        return first, first + ((argc - first) // limit + lastkey), step
    if key.find[0] == "keynum":
        index, offset, step = int(key.find[1]), int(key.find[2]), int(key.find[3])
        try:
            count = int(words[first + index])
        except (IndexError, ValueError):
            raise UnknownKeys(f"{spec.name.upper()} needs a number of keys") from None
        if count < 0:
            raise UnknownKeys(f"{spec.name.upper()} needs a number of keys")
        return first + offset, first + offset + (count - 1) * step, step
    raise UnknownKeys(f"Redis cannot tell where the keys of {spec.name.upper()} are")


# Channels and patterns: the publish/subscribe commands, by the index their names start at.
CHANNELS_FROM = {
    "publish": (1, 2),  # PUBLISH channel message: the channel only
    "spublish": (1, 2),
    "subscribe": (1, None),
    "unsubscribe": (1, None),
    "ssubscribe": (1, None),
    "sunsubscribe": (1, None),
    "pubsub|numsub": (2, None),
    "pubsub|shardnumsub": (2, None),
    "pubsub|channels": (2, None),  # its pattern, if any
    "pubsub|shardchannels": (2, None),
}
PATTERNS_FROM = {"psubscribe": 1, "punsubscribe": 1}


def channel_positions(words: list[str]) -> tuple[list[int], list[int]]:
    """(channel indexes, pattern indexes) of a publish/subscribe command; ([], []) otherwise."""
    spec = lookup(words)
    if spec is None:
        return [], []
    if spec.name in CHANNELS_FROM:
        start, end = CHANNELS_FROM[spec.name]
        return list(range(start, end if end is not None else len(words))), []
    if spec.name in PATTERNS_FROM:
        return [], list(range(PATTERNS_FROM[spec.name], len(words)))
    return [], []


def name_positions(words: list[str]) -> list[int]:
    """Indexes of every word that names a key, a channel or a pattern: the words a run keeps in
    its namespace. Raises UnknownKeys when they cannot be told."""
    keys = key_positions(words) if (spec := lookup(words)) is not None and spec.keys else []
    if spec is None:
        raise UnknownKeys(
            f"{words[0].upper() if words else 'an empty command'} is not a command Redis describes"
        )
    channels, patterns = channel_positions(words)
    return sorted({*keys, *channels, *patterns, *argv_name_positions(words)})


@dataclass(frozen=True)
class Shape:
    """Where a command's names are, by its key specifications: what the gate, the namespace and
    a state view ask about every command. Raises nothing: `written` is None where they cannot
    be told."""

    spec: CommandSpec
    keys: tuple[int, ...]  # key_positions
    channels: tuple[int, ...]
    patterns: tuple[int, ...]
    names: tuple[int, ...]  # name_positions: keys, channels, patterns and a script's ARGV names
    written: tuple[int, ...]  # written_positions


# Shapes by (command, subcommand, number of words), for commands whose key specifications place
# keys by index alone: there the positions depend on nothing else, and finding them was most of
# a traced command's cost (the gate, the namespace and the state view each asked).
_SHAPES: dict[tuple[str, str, int], Shape] = {}
_SHAPES_MOST = 4096


def shape_of(words: list[str]) -> Shape:
    """The command's Shape, remembered where its shape alone decides it. Raises UnknownKeys as
    name_positions does."""
    spec = lookup(words)
    if spec is None:
        raise UnknownKeys(
            f"{words[0].upper() if words else 'an empty command'} is not a command Redis describes"
        )
    key = (spec.name, words[1].lower() if spec.subcommands and len(words) > 1 else "", len(words))
    found = _SHAPES.get(key)
    if found is None:
        channels, patterns = channel_positions(words)
        found = Shape(
            spec=spec,
            keys=tuple(key_positions(words)) if spec.keys else (),
            channels=tuple(channels),
            patterns=tuple(patterns),
            names=tuple(name_positions(words)),
            written=tuple(written_positions(words)) if spec.keys else (),
        )
        if _fixed(spec) and len(_SHAPES) < _SHAPES_MOST:
            _SHAPES[key] = found
    return found


# Shapes by (first word as sent, number of words), where those alone name the command and place
# its names: a traced program asks for every command, and splitting its words was most of that.
_BY_FIRST: dict[tuple[str, int], Shape] = {}


def sent_shape(args: tuple[Any, ...] | list[Any]) -> Shape:
    """`shape_of(split_words(args))`, remembered where the first word alone names the command (no
    subcommand, not "XGROUP CREATE" in one word) and the shape places its names. Raises
    UnknownKeys as shape_of does."""
    first = args[0] if args else None
    if type(first) is str:
        found = _BY_FIRST.get((first, len(args)))
        if found is not None:
            return found
    words = split_words(args)
    shape = shape_of(words)
    spec = shape.spec
    if (
        type(first) is str
        and len(words) == len(args)
        and "|" not in spec.name
        and not spec.subcommands
        and _fixed(spec)
        and len(_BY_FIRST) < _SHAPES_MOST
    ):
        _BY_FIRST[(first, len(args))] = shape
    return shape


def names_at(words: list[str]) -> list[int]:
    """`name_positions(words)`, remembered where the command's shape alone decides them (the
    trace and the proxy ask for every command)."""
    return list(shape_of(words).names)


def _fixed(spec: CommandSpec) -> bool:
    return spec.name not in _WORD_DEPENDENT and all(
        k.begin[0] == "index" and k.find[0] == "range" for k in spec.keys
    )


# Commands whose names depend on more than their shape: a script's ARGV names (scripts.py).
_WORD_DEPENDENT = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def specs_from_server(client: Any) -> dict[str, Any]:
    """The data file's content, read from a live server with `COMMAND` (raw, RESP2 replies)."""
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command("COMMAND")
        commands = connection.read_response()
        connection.send_command("INFO", "server")
        info = connection.read_response()
    finally:
        client.connection_pool.release(connection)

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def pairs(items: Any) -> dict[str, Any]:
        # A map on RESP3, a flat list of fields and values on RESP2.
        if isinstance(items, dict):
            return {text(k): v for k, v in items.items()}
        return {text(items[i]): items[i + 1] for i in range(0, len(items), 2)}

    def key_spec(raw: list[Any]) -> dict[str, Any]:
        fields = pairs(raw)
        begin, find = pairs(fields["begin_search"]), pairs(fields["find_keys"])
        begin_spec, find_spec = pairs(begin.get("spec") or []), pairs(find.get("spec") or [])
        kind = text(begin["type"])
        if kind == "index":
            begin_out: list[Any] = ["index", int(begin_spec["index"])]
        elif kind == "keyword":
            begin_out = ["keyword", text(begin_spec["keyword"]), int(begin_spec["startfrom"])]
        else:
            begin_out = ["unknown"]
        kind = text(find["type"])
        if kind == "range":
            find_out: list[Any] = [
                "range",
                int(find_spec["lastkey"]),
                int(find_spec["keystep"]),
                int(find_spec["limit"]),
            ]
        elif kind == "keynum":
            find_out = [
                "keynum",
                int(find_spec["keynumidx"]),
                int(find_spec["firstkey"]),
                int(find_spec["keystep"]),
            ]
        else:
            find_out = ["unknown"]
        return {
            "begin": begin_out,
            "find": find_out,
            "flags": sorted(text(f) for f in fields.get("flags", [])),
        }

    def entry(raw: list[Any]) -> tuple[str, dict[str, Any]]:
        name = text(raw[0])
        described: dict[str, Any] = {
            "arity": int(raw[1]),
            "flags": sorted(text(f) for f in raw[2]),
            "categories": sorted(text(c) for c in raw[6]),
        }
        if raw[8]:
            described["keys"] = [key_spec(k) for k in raw[8]]
        if len(raw) > 9 and raw[9]:
            described["subcommands"] = dict(
                (sub.split("|", 1)[1], value) for sub, value in (entry(s) for s in raw[9])
            )
        return name, described

    version = next(
        (
            line.split(":", 1)[1]
            for line in text(info).splitlines()
            if line.startswith("redis_version:")
        ),
        "?",
    )
    return {
        "server": f"redis {version}",
        "commands": dict(sorted(entry(raw) for raw in commands)),
    }
