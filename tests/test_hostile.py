"""Hostile lesson files, a foreign pattern subscriber, and a server full of somebody's data.

Each case is a lesson file written as a careless author or an attacker would: a command that
reaches the whole server, one hidden in a template, a name the lesson did not declare, a script.
`tutor check` must refuse every one with one line naming the file, and the server must end exactly
as it was: every key of db 0 and db 1 (DUMP), its maxmemory, and what a foreign subscriber heard.
Beside a client subscribed to every channel (RedisInsight's PSUBSCRIBE *), every pub/sub lesson
still passes, and the row names the extra receiver.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from tests.conftest import ROOT, RedisServer, all_keys, redis_server_binary

pytestmark = pytest.mark.real

MINI = (ROOT / "tests" / "lessons" / "mini.toml").read_text()
runner = CliRunner()


def step(command: str, *, actor: str = "alice", assign: str | None = None) -> str:
    text = f'\n[[steps]]\nactor = "{actor}"\naction = "x"\ncommand = """{command}"""\n'
    return text + (f'assign = "{assign}"\n' if assign else "")


def with_variables(extra: str, names: str = '"got", "size", "cmd", "who"') -> str:
    return MINI.replace('variables = ["got", "size"]', f"variables = [{names}]") + extra


CHANNELS = 'channels = ["news", "n*"]\n'


def with_channels(extra: str) -> str:
    return (
        MINI.replace('variables = ["got", "size"]', 'variables = ["got", "size"]\n' + CHANNELS)
        + extra
    )


# (id, lesson text): at least 50, each refused before it can do harm.
CASES: list[tuple[str, str]] = []
SERVER_WIDE = [
    "FLUSHALL",
    "flushall",
    "FlushDB ASYNC",
    "CONFIG SET maxmemory 1",
    "CONFIG GET *",
    "SHUTDOWN NOSAVE",
    "DEBUG SLEEP 0",
    "SWAPDB 0 1",
    "SELECT 1",
    "MOVE jobs 1",
    "COPY jobs done DB 1",
    "KEYS *",
    "SCAN 0",
    "SCAN 0 MATCH *",
    "DBSIZE",
    "RANDOMKEY",
    "MONITOR",
    "CLIENT KILL TYPE pubsub",
    "CLIENT PAUSE 1000",
    "CLIENT LIST",
    "CLIENT TRACKING ON",
    "CLIENT NO-EVICT ON",
    "CLIENT UNBLOCK 1",
    "RESET",
    "FUNCTION FLUSH",
    "SCRIPT FLUSH",
    "EVAL \"return redis.call('flushall')\" 0",
    "EVAL \"return redis.call('select', 1)\" 0",
    'EVAL "return 1" 1 jobs',
    "EVALSHA 0123456789012345678901234567890123456789 0",
    "FCALL f 0",
    "ACL SETUSER intruder on",
    "REPLICAOF 127.0.0.1 1",
    "BGSAVE",
    "SAVE",
    "MIGRATE 127.0.0.1 1 jobs 0 5",
    "SORT jobs BY nosort GET *",
    "PUBSUB CHANNELS",
    "PUBSUB NUMPAT",
    "WAIT 0 0",
    "NOSUCHCOMMAND jobs",
]
CASES += [(f"server-wide: {c}", MINI + step(c)) for c in SERVER_WIDE]
UNDECLARED = [
    "DEL payroll",
    "UNLINK payroll",
    "RENAME payroll jobs",
    "COPY payroll jobs",
    "RPOP payroll",
    "LPUSH jbos x",
    "MSET jobs 1 payroll 2",
    "EXPIRE payroll 1",
    "BLMOVE payroll jobs LEFT RIGHT 1",
    "ZUNIONSTORE done 2 payroll jobs",
    "XADD audit * who intruder",
    "GET payroll",
    "LMPOP 2 jobs payroll LEFT",
]
CASES += [(f"undeclared key: {c}", MINI + step(c)) for c in UNDECLARED]
CASES += [
    ("undeclared channel: PUBLISH", with_channels(step("PUBLISH notifications hi"))),
    ("undeclared channel: SUBSCRIBE", with_channels(step("SUBSCRIBE notifications"))),
    ("a pattern beyond the run: PSUBSCRIBE *", with_channels(step("PSUBSCRIBE *"))),
    ("a pattern beyond the run: PSUBSCRIBE ?ews", with_channels(step("PSUBSCRIBE ?ews"))),
]
# Templates: the name of a command, or of a key, computed while the lesson runs.
CASES += [
    (
        "template: a command computed by ECHO",
        with_variables(step("ECHO FLUSHALL", assign="cmd") + step("{cmd}")),
    ),
    (
        "template: NOSAVE after a computed command",
        with_variables(step("ECHO SHUTDOWN", assign="cmd") + step("{cmd} NOSAVE")),
    ),
    (
        "template: a computed CONFIG",
        with_variables(step("ECHO CONFIG", assign="cmd") + step("{cmd} SET maxmemory 1")),
    ),
    (
        "template: a key computed by ECHO",
        with_variables(step("ECHO payroll", assign="who") + step("DEL {who}")),
    ),
    (
        "template: a key inside a longer word",
        with_variables(step("ECHO roll", assign="who") + step("DEL pay{who}")),
    ),
    (
        "template: a channel computed by ECHO",
        with_variables(step("ECHO notifications", assign="who") + step("PUBLISH {who} hi")),
    ),
]
assert len(CASES) >= 50


class Foreign:
    """Somebody else's use of the server: data in db 0 and db 1, a subscriber to a channel, and a
    client subscribed to every channel by pattern (as RedisInsight's pub/sub view is)."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        db0, db1 = server.client(), redis.Redis(port=server.port, db=1)
        for client, tag in ((db0, b"0"), (db1, b"1")):
            client.set("payroll", b"secret " + tag)
            client.rpush("jobs", b"somebody's job")
            client.hset("user:1", mapping={"name": "ann"})
            client.xadd("audit", {"who": "ann"})
            client.zadd("rank", {"a": 1})
        self.heard: list[object] = []
        self.pubsub = server.client().pubsub()
        self.pubsub.subscribe("notifications")
        self.pubsub.psubscribe("*")
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.05)
            if message and message["type"] in ("message", "pmessage"):
                self.heard.append(message)

    def digest(self) -> dict[object, object]:
        found: dict[object, object] = {}
        for db in (0, 1):
            client = redis.Redis(port=self.server.port, db=db)
            for name in sorted(all_keys(client)):
                found[(db, name)] = (client.dump(name), client.pttl(name))
        found["maxmemory"] = self.server.client().config_get("maxmemory")
        found["clients"] = self.server.client().execute_command("PUBSUB", "NUMPAT")
        return found

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.pubsub.close()


@pytest.fixture(scope="module")
def foreign() -> Iterator[Foreign]:
    server = RedisServer(redis_server_binary())
    guest = Foreign(server)
    yield guest
    guest.stop()
    server.stop()


def test_every_hostile_lesson_is_refused_and_the_server_is_untouched(foreign, tmp_path: Path):
    before, heard = foreign.digest(), len(foreign.heard)
    refused = 0
    for number, (name, text) in enumerate(CASES):
        path = tmp_path / f"hostile{number}.toml"
        path.write_text(text.replace('id = "mini"', f'id = "hostile{number}"'))
        result = runner.invoke(
            app, ["check", str(path), "--backend", foreign.server.url, "--plain"]
        )
        out = result.stdout + result.stderr
        assert result.exit_code != 0, (name, out)
        assert "Traceback" not in out, (name, out)
        failures = [line for line in out.splitlines() if line.startswith("FAIL")]
        assert len(failures) == 1, (name, out)  # one line...
        assert str(path) in failures[0], (name, out)  # ...naming the file
        refused += 1
    assert refused == len(CASES) >= 50
    assert foreign.digest() == before  # every key of both databases, maxmemory, clients
    assert len(foreign.heard) == heard  # nothing was published to anybody


def test_refusals_say_which_command_and_where(tmp_path: Path, foreign):
    def check(text: str) -> str:
        path = tmp_path / "hostile.toml"
        path.write_text(text.replace('id = "mini"', 'id = "hostile"'))
        result = runner.invoke(
            app, ["check", str(path), "--backend", foreign.server.url, "--plain"]
        )
        return " ".join((result.stdout + result.stderr).split())

    out = check(MINI + step("FLUSHALL"))
    assert re.search(r"hostile\.toml:\d+: steps\[\d+\]\.command: FLUSHALL is refused", out), out
    out = check(MINI + step("DEL payroll"))
    assert "DEL names the key 'payroll', which the lesson does not declare" in out, out
    out = check(with_variables(step("ECHO FLUSHALL", assign="cmd") + step("{cmd}")))
    assert "the command's name must be written out, not a template" in out, out
    out = check(with_variables(step("ECHO payroll", assign="who") + step("DEL {who}")))
    assert "must be written out, not a template" in out, out


@pytest.mark.parametrize("lesson_id", ["pubsub", "pubsub-vs-queue", "compare"])
def test_pub_sub_lessons_pass_beside_a_client_subscribed_to_every_channel(foreign, lesson_id):
    assert foreign.server.client().execute_command("PUBSUB", "NUMPAT") >= 1
    result = runner.invoke(
        app, ["check", f"lessons/{lesson_id}.toml", "--backend", foreign.server.url]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    with running(foreign.server.url) as backend:
        _start, records = run_lesson(find_lesson(lesson_id), backend)
    publishes = [r for r in records if any(c.name == "PUBLISH" for c in r.commands)]
    assert publishes and all(r.outside >= 1 for r in publishes)  # the foreign PSUBSCRIBE *
    from redisqueue_tutor.run.tables import execution_row

    row = execution_row(publishes[0], frozenset())
    assert "outside this lesson" in row.action


def test_the_gate_holds_at_the_moment_a_command_is_sent(foreign):
    """Below the lesson checks: whatever builds a command, the connection refuses it."""
    from redisqueue_tutor.keyspace.gate import Refused

    before, heard = foreign.digest(), len(foreign.heard)
    with running(foreign.server.url) as backend:
        client = backend.client("intruder")
        for words in (
            ["FLUSHALL"],
            ["DEL", "payroll"],
            ["CONFIG", "SET", "maxmemory", "1"],
            ["EVAL", "return redis.call('flushall')", "0"],
            ["PUBLISH", "notifications", "hi"],
            ["CLIENT", "KILL", "TYPE", "pubsub"],
        ):
            with pytest.raises(Refused):
                client.execute_command(*words)
        pipe = client.pipeline()
        pipe.set(backend.namespace.key("mine"), "1").delete("payroll")
        with pytest.raises(Refused):
            pipe.execute()
    assert foreign.digest() == before and len(foreign.heard) == heard


SANDBOX_LINES = [
    "FLUSHALL",
    "KEYS *",
    "SCAN 0",
    "CONFIG SET maxmemory 1",
    "EVAL \"return redis.call('flushall')\" 0",
    "CLIENT KILL TYPE pubsub",
    "PUBSUB CHANNELS",
    "SELECT 1",
    "DEBUG SLEEP 0",
    "DEL payroll",  # the sandbox's own payroll, inside its namespace
    "GET payroll",
    "PUBLISH notifications hi",  # the sandbox's own channel: nobody outside listens to it...
]


def test_the_sandbox_passes_the_same_gate(foreign):
    before, heard = foreign.digest(), len(foreign.heard)
    result = runner.invoke(
        app,
        ["sandbox", "--backend", foreign.server.url, "--plain"],
        input="\n".join(SANDBOX_LINES) + "\n",
    )
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    for word in ("FLUSHALL", "KEYS", "SCAN", "CONFIG", "EVAL", "CLIENT", "SELECT", "DEBUG"):
        assert re.search(rf"{word}\b.*refused|refused.*{word}\b", out), (word, out)
    assert foreign.digest() == before
    # ...but PSUBSCRIBE * hears every channel of the server: the one message is the sandbox's own.
    assert all(b"tutor:{" in m["channel"] for m in foreign.heard[heard:])


TRACED = {
    "flushall": "import redis\nredis.Redis().flushall()\n",
    "dbsize": "import redis\nprint(redis.Redis().dbsize())\n",
    "client-kill": "import redis\nredis.Redis().client_kill_filter(_type='pubsub')\n",
    "client-pause": "import redis\nredis.Redis().client_pause(1000)\n",
    "client-list": "import redis\nprint(redis.Redis().client_list())\n",
    "pubsub-numpat": "import redis\nprint(redis.Redis().pubsub_numpat())\n",
    "config-set": "import redis\nredis.Redis().config_set('maxmemory', 1)\n",
    "eval": "import redis\nredis.Redis().eval(\"return redis.call('flushall')\", 0)\n",
    "swallowed": (
        "import redis\ntry:\n    redis.Redis().flushall()\nexcept Exception:\n    pass\n"
        "print('went on')\n"
    ),
}


@pytest.mark.parametrize("name", sorted(TRACED))
def test_a_traced_program_passes_the_same_gate(foreign, tmp_path: Path, name):
    import subprocess
    import sys

    before = foreign.digest()
    script = tmp_path / f"{name}.py"
    script.write_text(TRACED[name])
    done = subprocess.run(
        [sys.executable, "-m", "redisqueue_tutor", "trace", str(script), "--redis-url",
         foreign.server.url, "--plain"],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "refused" in out and "Traceback" not in out, out
    assert "went on" not in out  # a refusal cannot be swallowed by `except Exception`
    assert foreign.digest() == before


def test_doctor_names_a_client_that_hears_every_channel(foreign):
    result = runner.invoke(app, ["doctor", "--backend", foreign.server.url, "--plain"])
    assert result.exit_code == 0, result.stdout
    assert "also hears every channel" in " ".join(result.stdout.split())
