"""The line of redis-py a lesson step runs, so a learner connects the table to the code they write.

A step may say it itself (`code = "task = consumer.rpop('queue')"`); otherwise it is derived from
the step's command, the way redis-py spells it: `BRPOP queue 0` is `consumer.brpop('queue',
timeout=0)`, `XADD events 1-1 task resize` is `producer.xadd('events', {'task': 'resize'},
id='1-1')`. tests/test_program.py runs every derived line of every lesson on redis-py and checks
that it sends exactly the step's command.

Template words become Python: `{task}` is the variable task, `{got[0][1][0][0]}` the same
expression in Python.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from typing import Protocol


class _Step(Protocol):
    """What a program line is made of: the lesson's Step (lessons/model.py)."""

    code: str | None
    actor: str
    crash: bool
    command: str | None
    output: str | None
    assign: str | None
    repeat: int
    background: bool


class _Lesson(Protocol):
    @property
    def steps(self) -> Sequence[_Step]: ...


_WHOLE_TEMPLATE = re.compile(r"^\{([a-z_][a-z0-9_]*(?:\[[^\]]+\])*)\}$")
_INTEGER = re.compile(r"^-?\d+$")


def _text(word: str) -> str:
    """A word as a Python str literal; a template word as the expression it names."""
    whole = _WHOLE_TEMPLATE.match(word)
    if whole:
        return whole.group(1)
    if "{" in word:
        return "f" + repr(word)
    return repr(word)


def _number(word: str) -> str:
    if _INTEGER.match(word):
        return word
    try:
        return repr(float(word))
    except ValueError:
        return _text(word)


def _call(method: str, args: Sequence[str], **named: str) -> str:
    parts = list(args) + [f"{k}={v}" for k, v in named.items()]
    return f"{method}({', '.join(parts)})"


def _keys(words: Sequence[str]) -> str:
    texts = [_text(w) for w in words]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _blocking_pop(name: str, words: list[str]) -> str:
    return _call(name.lower(), [_keys(words[:-1])], timeout=_number(words[-1]))


def _options(words: list[str], known: dict[str, str]) -> dict[str, str]:
    """Options such as COUNT 1 or BLOCK 5000 as redis-py's keyword arguments."""
    named: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index].upper()
        if word in known and index + 1 < len(words):
            named[known[word]] = _number(words[index + 1])
            index += 2
        elif word in ("MKSTREAM", "NOACK", "JUSTID"):
            named[word.lower()] = "True"
            index += 1
        else:
            index += 1
    return named


def _xadd(words: list[str]) -> str:
    key, entry_id, pairs = words[0], words[1], words[2:]
    fields = ", ".join(f"{_text(pairs[i])}: {_text(pairs[i + 1])}" for i in range(0, len(pairs), 2))
    named = {} if entry_id == "*" else {"id": _text(entry_id)}
    return _call("xadd", [_text(key), "{" + fields + "}"], **named)


def _xreadgroup(words: list[str]) -> str:
    # GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
    upper = [w.upper() for w in words]
    group, consumer = words[1], words[2]
    at = upper.index("STREAMS")
    rest = words[at + 1 :]
    half = len(rest) // 2
    streams = ", ".join(
        f"{_text(k)}: {_text(i)}" for k, i in zip(rest[:half], rest[half:], strict=True)
    )
    named = _options(words[3:at], {"COUNT": "count", "BLOCK": "block"})
    return _call("xreadgroup", [_text(group), _text(consumer), "{" + streams + "}"], **named)


def _xgroup(words: list[str]) -> str:
    sub = words[0].upper()
    if sub == "CREATE":
        named = {"id": _text(words[3])} if len(words) > 3 else {}
        named.update(_options(words[4:], {}))
        return _call("xgroup_create", [_text(words[1]), _text(words[2])], **named)
    if sub == "DESTROY":
        return _call("xgroup_destroy", [_text(w) for w in words[1:3]])
    if sub == "SETID":
        return _call("xgroup_setid", [_text(w) for w in words[1:3]], id=_text(words[3]))
    if sub == "DELCONSUMER":
        return _call("xgroup_delconsumer", [_text(w) for w in words[1:4]])
    return _call("execute_command", [repr("XGROUP"), *(_text(w) for w in words)])


def _xpending(words: list[str]) -> str:
    if len(words) == 2:
        return _call("xpending", [_text(w) for w in words])
    key, group, low, high, count = words[:5]
    named = {"min": _text(low), "max": _text(high), "count": _number(count)}
    if len(words) > 5:
        named["consumername"] = _text(words[5])
    return _call("xpending_range", [_text(key), _text(group)], **named)


def _xautoclaim(words: list[str]) -> str:
    key, group, consumer, idle = words[:4]
    named = {"start_id": _text(words[4])} if len(words) > 4 else {}
    named.update(_options(words[5:], {"COUNT": "count"}))
    return _call("xautoclaim", [_text(key), _text(group), _text(consumer), _number(idle)], **named)


def _xrange(words: list[str]) -> str:
    key, rest = words[0], words[1:]
    named = {}
    if rest[:2] != ["-", "+"]:
        named = {"min": _text(rest[0]), "max": _text(rest[1])} if len(rest) >= 2 else {}
    named.update(_options(rest[2:], {"COUNT": "count"}))
    return _call("xrange", [_text(key)], **named)


def _lrem(words: list[str]) -> str:
    return _call("lrem", [_text(words[0]), _number(words[1]), _text(words[2])])


def _pop(name: str) -> Callable[[list[str]], str]:
    def call(words: list[str]) -> str:
        args = [_text(words[0])] + ([_number(words[1])] if len(words) > 1 else [])
        return _call(name.lower(), args)

    return call


def _numbers_after_key(name: str) -> Callable[[list[str]], str]:
    def call(words: list[str]) -> str:
        return _call(name.lower(), [_text(words[0]), *(_number(w) for w in words[1:])])

    return call


_SPELLED: dict[str, Callable[[list[str]], str]] = {
    "XADD": _xadd,
    "XREADGROUP": _xreadgroup,
    "XGROUP": _xgroup,
    "XPENDING": _xpending,
    "XAUTOCLAIM": _xautoclaim,
    "XRANGE": _xrange,
    "LREM": _lrem,
    "LPOP": _pop("LPOP"),
    "RPOP": _pop("RPOP"),
    "LRANGE": _numbers_after_key("LRANGE"),
    "LINDEX": _numbers_after_key("LINDEX"),
    "LTRIM": _numbers_after_key("LTRIM"),
}
_PUBSUB = {"SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"}


def command_call(words: list[str]) -> str:
    """The redis-py method call that sends these words (without the client in front)."""
    name, rest = words[0].upper(), words[1:]
    if name in ("BRPOP", "BLPOP"):
        return _blocking_pop(name, rest)
    if name in _SPELLED:
        return _SPELLED[name](rest)
    return _call(name.lower(), [_text(w) for w in rest])


def step_code(lesson: _Lesson, step: _Step) -> str | None:
    """The program line (or lines) of a step, as a learner would write it; None if it has none."""
    if step.code:
        return step.code.strip()
    client = step.actor
    if step.crash:
        return f"# {client}'s process is killed: no cleanup, no goodbye"
    if step.command is None:
        return f"print(f{step.output!r})" if step.output and "{" in step.output else None
    words = shlex.split(step.command)
    name = words[0].upper()
    if name in _PUBSUB:
        call = f"pubsub.{command_call(words)}"
        if name in ("SUBSCRIBE", "PSUBSCRIBE"):
            return f"pubsub = {client}.pubsub(); {call}  # a thread then reads pubsub.listen()"
        return call
    call = f"{client}.{command_call(words)}"
    if step.assign:
        call = f"{step.assign} = {call}"
    if step.repeat > 1:
        call = f"for _ in range({step.repeat}): {call}"
    if step.background:
        call += "  # on the worker's own thread"
    return call


def lesson_code(lesson: _Lesson) -> list[str | None]:
    return [step_code(lesson, step) for step in lesson.steps]
