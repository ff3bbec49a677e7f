"""Long payloads told by what they are: a Celery message by its task and arguments, its result
by its status; RQ's pickled calls and results by their size, its exceptions by their last line.
What is shown is read from the payload itself (never from the lesson, and nothing is unpickled);
the whole payload stays with it (records.Summary.whole), for `x` to show."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

from redisqueue_tutor.run.records import DictValue, ListValue, SetValue, Summary, Value

LONG = 80  # characters from which a JSON payload is looked at
_NOISE = 12  # random bytes channels_redis puts before each message (random_prefix_length)
# A task's or message's id: its first 8 hex digits tell it from the others in a lesson.
_UUID = re.compile(
    r"\b([0-9a-f]{8})(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24})\b"
)  # 7c2e5983-838a-4066-9503-7be113301073, or the same 32 digits without dashes (RQ's)


def summarised(value: Value) -> Value:
    """The value with every payload it holds told by what it is; the rest as it was."""
    if isinstance(value, str) and not isinstance(value, Summary):
        if "redis.call(" in value:  # a Lua script's body (EVAL, SCRIPT LOAD)
            return _script(value)
        return _summary(value) or _short_ids(value)
    # channels_redis's messages: msgpack after 12 random bytes (RedisChannelLayer's), or alone
    # (RedisPubSubChannelLayer's)
    for start in (_NOISE, 0) if isinstance(value, bytes) else ():
        if (
            len(value) > start
            and 0x80 <= value[start] <= 0x8F
            and (packed := _packed(value[start:]))
        ):
            return packed
    if isinstance(value, bytes) and (len(value) >= 32 or value[:2] == b"x\x9c"):
        if value[:2] == b"x\x9c":  # zlib: RQ's pickled call (rq:job:<id> data)
            return _compressed(value) or value
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value
        told = _summary(text) or _short_ids(text)
        return told if isinstance(told, Summary) else value
    if type(value) in (ListValue, DictValue, SetValue, tuple):
        return type(value)(summarised(item) for item in value)
    return value


def _short_ids(text: str) -> str:
    """Each UUID in the text shortened to its first 8 digits and an ellipsis."""
    if len(text) < 32:
        return text
    short = _UUID.sub(lambda m: m.group(1) + "…", text)
    return Summary(short, text) if short != text else text


def _script(body: str) -> Summary:
    """A Lua script by the name the gate knows it by (keyspace/scripts.py), or its size."""
    from redisqueue_tutor.keyspace.scripts import KNOWN, sha1

    known = KNOWN.get(sha1(body))
    lines = len(body.strip().splitlines())
    return Summary(f"<{known.what if known else 'a Lua script'}: {lines} lines>", body)


def _packed(data: bytes) -> Summary | None:
    """A channels_redis message (msgpack, a map with its type) by its type and fields."""
    try:
        import msgpack  # type: ignore[import-untyped]

        message = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception:  # not msgpack after all, or no msgpack to read it: left as it is
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    fields = ", ".join(
        f"{k}={v!r}" for k, v in message.items() if k != "type" and not str(k).startswith("__")
    )
    return Summary(f"<message {message['type']}{': ' + fields if fields else ''}>", repr(message))


_PICKLED = ("gASV", "gAWV")  # base64 of a pickle's first bytes (protocols 4 and 5)


def _compressed(data: bytes) -> Summary | None:
    try:
        inner = zlib.decompress(data)
    except zlib.error:
        return None
    whole = repr(data)
    if inner[:1] == b"\x80":  # a pickle: never loaded, only measured
        return Summary(f"<a pickled call, {len(inner)} bytes>", whole)
    text = inner.decode("utf-8", "replace").strip()
    last = text.splitlines()[-1] if text else ""
    return Summary(f"<exception {last}>" if "Error" in last else f"<{len(inner)} bytes>", text)


def _encoded(text: str) -> Summary | None:
    """RQ's results: a pickled return value, or an exception's traceback compressed, in base64."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if text.startswith(_PICKLED):
        return Summary(f"<a pickled value, {len(data)} bytes>", text)
    return _compressed(data) if data[:2] == b"x\x9c" else None


def _summary(text: str) -> Summary | None:
    if text.startswith(_PICKLED) or text.startswith("eJ"):  # base64 of a pickle, of zlib
        return _encoded(text)
    if len(text) < LONG or text[:1] not in "[{":
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # kombu's unacked entry: [message, exchange, routing key]
    if not isinstance(data, dict):
        return None
    told = _celery_message(data) or _celery_result(data)
    return Summary(told, text) if told else None


def _celery_message(data: dict[str, Any]) -> str:
    headers = data.get("headers")
    if not isinstance(headers, dict) or not isinstance(headers.get("task"), str):
        return ""
    task = str(headers["task"]).rsplit(".", 1)[-1]
    args = str(headers.get("argsrepr") or "()")
    kwargs = str(headers.get("kwargsrepr") or "{}")
    call = args[:-2] + ")" if args.endswith(",)") else args
    if kwargs not in ("{}", ""):
        call = f"{call[:-1]}{', ' if call != '()' else ''}**{kwargs})"
    # Its id is the task's (celery-task-meta-<id> names it); x shows the message whole.
    eta = f" eta {str(headers['eta'])[11:19]}" if headers.get("eta") else ""
    return f"<message {task}{call}{eta}>"


def _celery_result(data: dict[str, Any]) -> str:
    if "status" not in data or "task_id" not in data:
        return ""
    result = data.get("result")
    if isinstance(result, dict) and isinstance(result.get("exc_type"), str):  # a task that raised
        said = result.get("exc_message")
        said = said[0] if isinstance(said, list) and len(said) == 1 else said
        return f"<result {data['status']}: {result['exc_type']}({said!r})>"
    return f"<result {data['status']}: {result!r}>"


SHOWN_FIELDS = ("status", "description", "type", "task")  # what tells a hash apart
MANY_FIELDS = 8  # a hash read whole with more fields than this is told by a few of them


def summarised_reply(value: Value) -> Value:
    """A reply that is a whole hash (HGETALL: RQ's job) told by its size and its telling fields:
    `<hash of 19 fields: status 'queued', description "shop.jobs.make_report('2026-11')">`."""
    if not isinstance(value, tuple) or len(value) <= MANY_FIELDS:
        return value
    pairs = [p for p in value if isinstance(p, tuple) and len(p) == 2]
    if len(pairs) != len(value):
        return value
    fields = {_text(k): v for k, v in pairs}
    told = [f"{name} {_text(fields[name])!r}" for name in SHOWN_FIELDS if name in fields]
    whole = "\n".join(f"{_text(k)}: {_text(v)}" for k, v in pairs)
    told_text = ", ".join(told) if told else ", ".join(list(fields)[:2])
    return Summary(f"<hash of {len(pairs)} fields: {told_text}>", whole)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)
