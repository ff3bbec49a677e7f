"""The shipped command specifications are the live redis-server's, and the keys they find are the
keys the server itself finds (`COMMAND GETKEYS`).

Regenerate the data after a redis-server upgrade with
`UPDATE_COMMANDS=1 python -m pytest tests/test_commandspecs.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import shlex

import pytest

from redisqueue_tutor.keyspace.specs import (
    UnknownKeys,
    channel_positions,
    key_positions,
    specs,
    specs_from_server,
    split_words,
)
from redisqueue_tutor.lessons import discover, find_lesson
from tests.conftest import ROOT

DATA = ROOT / "redisqueue_tutor" / "keyspace" / "commands.json"

# Commands of every kind of key specification: an index, a keyword, a range, a count of keys,
# subcommands, several specifications in one command, blocking and movable keys.
SAMPLES = [
    "LPUSH queue a b",
    "RPOP queue",
    "LMOVE queue processing RIGHT LEFT",
    "BRPOP high low 5",
    "BLMOVE a b LEFT RIGHT 0",
    "LMPOP 2 a b LEFT COUNT 3",
    "BLMPOP 0 3 a b c RIGHT",
    "RPOPLPUSH a b",
    "SET k v EX 10",
    "MSET a 1 b 2 c 3",
    "MGET a b c",
    "DEL a b",
    "UNLINK a",
    "EXISTS a b a",
    "RENAME a b",
    "COPY a b",
    "HSET h f v",
    "SADD s a",
    "SINTERCARD 2 s t LIMIT 1",
    "SMOVE s t m",
    "ZADD z 1 a",
    "ZUNIONSTORE dst 2 a b WEIGHTS 1 2",
    "ZINTER 2 a b",
    "ZDIFFSTORE dst 2 a b",
    "ZMPOP 2 a b MIN",
    "BZPOPMIN a b 1",
    "XADD events 1-1 task resize",
    "XADD events MAXLEN ~ 10 * f v",
    "XGROUP CREATE events workers 0 MKSTREAM",
    "XGROUP SETID events workers $",
    "XREADGROUP GROUP workers c1 COUNT 1 STREAMS events >",
    "XREADGROUP GROUP g c BLOCK 100 STREAMS a b > >",
    "XREAD COUNT 2 STREAMS a b 0 0",
    "XACK events workers 1-1 1-2",
    "XPENDING events workers - + 10",
    "XAUTOCLAIM events workers c2 0 0-0 COUNT 5",
    "XCLAIM events workers c2 0 1-1",
    "XRANGE events - +",
    "XINFO GROUPS events",
    "XTRIM events MAXLEN 5",
    "EVAL script 2 k1 k2 arg",
    "EVALSHA abc 1 k1",
    "FCALL fn 1 k1",
    "GEOADD g 1 2 m",
    "GEORADIUS g 1 2 3 m STORE dst",
    "PFMERGE dst a b",
    "WATCH a b",
    "OBJECT ENCODING k",
    "EXPIRE k 10",
    "GETEX k PERSIST",
    "BITOP AND dst a b",
    "SORT_RO k",
]


def lesson_commands() -> list[str]:
    return [
        step.command
        for lesson_id in sorted(discover())
        for step in find_lesson(lesson_id).steps
        if step.command and "{" not in step.command
    ]


@pytest.mark.real
def test_the_shipped_specifications_are_the_servers(redis_server):
    live = specs_from_server(redis_server.client())
    text = json.dumps(live, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_COMMANDS") == "1":
        DATA.write_text(text)
    assert json.loads(DATA.read_text())["server"] == live["server"] or pytest.fail(
        f"the shipped specifications come from {json.loads(DATA.read_text())['server']}, the "
        f"server here is {live['server']}: regenerate with UPDATE_COMMANDS=1"
    )
    assert DATA.read_text() == text, "regenerate with UPDATE_COMMANDS=1 and review the diff"


@pytest.mark.real
@pytest.mark.parametrize("command", SAMPLES + lesson_commands())
def test_keys_are_where_the_server_finds_them(redis_server, command):
    words = shlex.split(command)
    connection = redis_server.client().connection_pool.get_connection()
    connection.send_command("COMMAND", "GETKEYS", *words)
    try:
        theirs = sorted(w.decode() for w in connection.read_response())
    except Exception as exc:  # the server finds no keys, or cannot tell
        theirs = [f"error: {exc}"]
    try:
        ours = sorted(words[i] for i in key_positions(words))
    except UnknownKeys as exc:
        ours = [f"unknown: {exc}"]
    if theirs and theirs[0].startswith("error"):
        assert ours == [] or ours[0].startswith("unknown"), (command, ours, theirs)
    elif ours and ours[0].startswith("unknown"):
        # Only where Redis itself needs command-specific code (SORT's BY and GET): the gate
        # refuses what it cannot place.
        assert words[0].upper() in ("SORT", "SORT_RO", "MIGRATE"), (command, ours, theirs)
    else:
        assert ours == theirs, command


def test_redis_py_sends_subcommands_as_one_word():
    assert split_words(["XGROUP CREATE", "events", "workers", "0"]) == [
        "XGROUP",
        "CREATE",
        "events",
        "workers",
        "0",
    ]
    assert key_positions(split_words(["XGROUP CREATE", "events", "workers", "0"])) == [2]


def test_channels_and_patterns():
    assert channel_positions(["PUBLISH", "news", "hi"]) == ([1], [])
    assert channel_positions(["SUBSCRIBE", "a", "b"]) == ([1, 2], [])
    assert channel_positions(["PSUBSCRIBE", "notif*"]) == ([], [1])
    assert channel_positions(["PUBSUB", "NUMSUB", "a", "b"]) == ([2, 3], [])
    assert channel_positions(["LPUSH", "q", "a"]) == ([], [])


def test_a_wrong_number_of_words_cannot_place_keys():
    with pytest.raises(UnknownKeys):
        key_positions(["LMOVE", "a"])
    with pytest.raises(UnknownKeys):
        key_positions(["LMPOP", "5", "a", "LEFT"])  # five keys announced, one given
    with pytest.raises(UnknownKeys):
        key_positions(["NOSUCHCOMMAND", "a"])


def test_every_command_redis_describes_is_shipped():
    assert len(specs()) >= 200
    assert specs()["lmove"].categories >= {"@write", "@list"}
    assert "@dangerous" in specs()["flushall"].categories
