"""The Lua scripts the tutor lets run on a server the user names (keyspace/scripts.py) are the
frameworks' own, as installed: each hash is recomputed here from the library that sends it, so
the day a framework changes a script this fails, and the script is refused until it is read
again."""

from __future__ import annotations

import ast
import inspect

import pytest

from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.keyspace.scripts import KNOWN, argv_name_positions, known_script, sha1
from redisqueue_tutor.keyspace.specs import name_positions, split_words
from tests.conftest import required_module

PREFIX = "tutor:{0badc0de}:"


def _installed_scripts() -> dict[str, str]:
    """What each library sends, by the name KNOWN gives it."""
    import redis.asyncio.lock
    import redis.lock

    kombu = required_module("kombu.transport.redis")
    core = required_module("channels_redis.core")
    rq_scripts = required_module("rq.scripts")
    found = {
        "redis-py's Lock.release": redis.lock.Lock.LUA_RELEASE_SCRIPT,
        "redis-py's Lock.extend": redis.lock.Lock.LUA_EXTEND_SCRIPT,
        "redis-py's Lock.reacquire": redis.lock.Lock.LUA_REACQUIRE_SCRIPT,
        "kombu's binding refresh": kombu.REFRESH_BINDING,
        "kombu's binding sweep": kombu.SWEEP_BINDINGS,
        "RQ's scheduler lock, acquire": rq_scripts.ACQUIRE_OR_REFRESH_LOCK_SCRIPT,
        "RQ's scheduler lock, release": rq_scripts.RELEASE_LOCK_SCRIPT,
    }
    assert redis.asyncio.lock.Lock.LUA_RELEASE_SCRIPT == redis.lock.Lock.LUA_RELEASE_SCRIPT
    names = {
        "group_send_lua": "channels_redis's group send",
        "cleanup_script": "channels_redis's receive clean-up",
    }
    for node in ast.walk(ast.parse(inspect.getsource(core))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in names:
                    found[names[target.id]] = str(node.value.value)
    return found


def test_every_known_script_is_what_its_library_sends():
    installed = {what: sha1(body) for what, body in _installed_scripts().items()}
    assert {script.what: sha for sha, script in KNOWN.items()} == installed


def test_a_known_scripts_names_get_the_namespace_and_are_checked():
    sweep = next(sha for sha, s in KNOWN.items() if s.what == "kombu's binding sweep")
    words = [
        "EVALSHA",
        sweep,
        "1",
        "deadlines",
        "_kombu.binding.",
        "_kombu.binding_permanent.",
        "10",
    ]
    # KEYS[1] by Redis's key specifications, ARGV[1] and ARGV[2] as the script builds names.
    assert name_positions(words) == [3, 4, 5]
    assert argv_name_positions(words) == [4, 5]
    gate = Gate(PREFIX)
    owned = [PREFIX + w if i in (3, 4, 5) else w for i, w in enumerate(words)]
    assert gate.problem(split_words(owned)) == ""
    foreign = [*owned[:4], "_kombu.binding.", *owned[5:]]
    assert "names the key '_kombu.binding.'" in gate.problem(foreign)


@pytest.mark.parametrize(
    "words",
    [
        ["EVAL", "return redis.call('FLUSHALL')", "0"],
        ["EVALSHA", "0" * 40, "0"],
        ["SCRIPT", "LOAD", "return redis.call('DEL', 'payroll')"],
    ],
)
def test_a_script_the_tutor_does_not_know_is_refused_on_a_shared_server(words):
    assert known_script(words) is None
    problem = Gate(PREFIX).problem(words)
    assert problem.endswith(("not one of the scripts it knows)", "script cache"))
    # On a private server (the embedded one) any script runs: nothing else lives there.
    assert Gate(PREFIX, scripts=True).problem(words) == ""
