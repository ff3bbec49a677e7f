"""The sandbox: typed commands run for real, namespaced, refused with a reason, undone by replay."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.modes.sandbox import REFUSED, Refused, Sandbox
from redisqueue_tutor.modes.sandbox.shell import completions
from tests.conftest import all_keys, golden

runner = CliRunner()

SESSION = """\
LPUSH queue a
LPUSH queue b
RPOP queue
SUBSCRIBE chat
PUBLISH chat hi
PSUBSCRIBE news.*
PUBLISH news.sport goal
UNSUBSCRIBE chat
PUBLISH chat nobody
BRPOP queue 1
BRPOP queue 0.2
"""


def sandbox(stdin: str, *args: str, columns: int = 160):
    env = {"COLUMNS": str(columns)}
    return runner.invoke(app, ["sandbox", "--plain", *args], input=stdin, env=env)


def test_typed_commands_show_the_table_and_the_live_view(backend_spec):
    result = sandbox(SESSION, "--backend", backend_spec)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("sandbox> ") == 11  # each line echoed, then its table
    last = out[out.rindex("Execution table") :]
    assert re.search(r"\| LPUSH queue 'a'\s+\| \(integer\) 1\s+\|", out)
    assert '"a"' in last and "'a'" in last  # RPOP: Redis's reply, and what redis-py hands over
    assert "listener1 got 'hi' on chat" in out
    assert "listener2 got 'goal'" in out  # the cell may fold; the record is checked below
    assert "listener1 stopped listening" in out
    assert re.search(r"PUBLISH chat 'nobody'\s*\|?\s*(->)?\s*\|?\s*\(integer\) 0", out)
    assert "BRPOP queue 1" in out and "(nil)" in last
    live = last[last.index("Live view") :]
    assert re.search(r"\| queue\s+\| none\s+\| \(no such key\)", live)
    assert re.search(r"\| chat\s+\| channel\s+\| 0 subscribers", live)
    assert re.search(r"\| news\.\*\s+\| pattern\s+\| 1 subscriber \(listener2\)", live)
    body = [line for line in out.splitlines() if not line.startswith("Sandbox")]
    assert not [line for line in body if "tutor:{" in line]  # short names in the tables


STREAMS = """\
XADD events 1-1 task resize
XADD events 1-2 task email
XGROUP CREATE events workers 0
XREADGROUP GROUP workers c1 COUNT 1 STREAMS events >
XREADGROUP GROUP workers c2 COUNT 1 STREAMS events >
XACK events workers 1-1
XPENDING events workers
XAUTOCLAIM events workers c1 0 0-0
XREADGROUP GROUP workers c1 BLOCK 200 STREAMS events >
XRANGE events - +
XLEN events
XGROUP SETID events workers 0
XGROUP DELCONSUMER events workers c2
XGROUP CREATE later workers $ MKSTREAM
XGROUP DESTROY later workers
"""


@pytest.mark.parametrize("name", ["session", "streams"])
def test_both_backends_tell_the_golden_story(name, backend_spec):
    # The same golden text on both backends: equal, and not equally wrong. The header line names
    # the backend; the rest is what the person reads.
    result = sandbox({"session": SESSION, "streams": STREAMS}[name], "--backend", backend_spec)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("Sandbox")]
    golden(f"sandbox-{name}-w160-plain.txt", "\n".join(lines) + "\n")


def test_stream_commands_with_a_consumer_group(backend_spec):
    with Sandbox(backend_spec) as box:
        records = [box.run(line) for line in STREAMS.splitlines()]
        replies = [r.commands[0].reply for r in records]
        assert replies[:3] == ["1-1", "1-2", "OK"]
        assert replies[3] == (("events", (("1-1", ("task", "resize")),)),)  # short names
        assert replies[5] == 1  # XACK
        assert replies[6] == (1, "1-2", "1-2", (("c2", "1"),))  # c2 holds 1-2
        assert replies[7][1] == (("1-2", ("task", "email")),)  # c1 claims it
        assert replies[8] is None  # BLOCK 200: nothing new, the wait ran out
        assert replies[10] == 2
        assert replies[12] == 0  # c2 held nothing any more
        assert all(not r.commands[0].error for r in records)
        state = dict(records[-1].state)
        assert repr(state["events"]) == "[1-1 task=resize, 1-2 task=email]"  # the Queue cell
        live = {row.name: row for row in box.session.live()}
        assert live["events"].kind == "stream"
        assert live["events"].value.splitlines() == [
            "[1-1 task=resize, 1-2 task=email]",
            "group workers: read up to 0-0, 1 entry pending (c1: 1)",
        ]
        assert live["later"].value == "[]"  # the group is gone, the stream stays


@pytest.mark.real
def test_stream_keys_live_in_the_runs_namespace(redis_server):
    client = redis_server.client()
    with Sandbox(redis_server.url) as box:
        box.run("XGROUP CREATE events workers $ MKSTREAM")
        box.run("XADD events * task a")
        box.run("XREADGROUP GROUP workers c1 STREAMS events >")
        prefix = box.backend.namespace.prefix
        assert f"{prefix}events".encode() in all_keys(client, prefix + "*")
        assert not client.exists("events")
        assert client.xinfo_groups(f"{prefix}events")[0]["pending"] == 1
    assert all_keys(client, "tutor:{*}:events") == set()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("XREADGROUP GROUP g c BLOCK 0 STREAMS s >", "may BLOCK 1 to 10000 ms"),
        ("XREAD BLOCK 60000 STREAMS s 0", "may BLOCK 1 to 10000 ms"),
        ("XREADGROUP GROUP g c STREAMS s", "then one id for each key"),
        ("XGROUP HELP", "the sandbox knows XGROUP CREATE key group"),
        ("XGROUP CREATE s", "XGROUP CREATE needs a key and a group"),
        ("XINFO STREAM s", "XINFO is not in the sandbox"),
    ],
)
def test_stream_lines_it_cannot_send_are_refused_with_a_reason(line, message):
    result = sandbox(line + "\nXLEN s\n")
    assert result.exit_code == 0
    assert message in result.stderr and result.stderr.count("Error:") == 1
    assert "XLEN s" in result.stdout


def test_help_explains_the_stream_commands():
    result = sandbox("help\nhelp xreadgroup\nhelp XGROUP\n")
    assert re.search(r"streams\s+XADD XLEN XRANGE", result.stdout)
    assert "XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] STREAMS key [key ...] >" in (
        " ".join(result.stdout.split())
    )
    assert "DELCONSUMER key group consumer" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    "command",
    [
        "FLUSHALL",
        "flushdb",
        "KEYS *",
        "MONITOR",
        "CONFIG SET x y",
        "SHUTDOWN",
        "DEBUG SLEEP 1",
        "SELECT 1",
        "EVAL x 0",
        "SCAN 0",
    ],
)
def test_unsafe_commands_are_refused_with_a_reason(command):
    result = sandbox(command + "\nLPUSH q x\n")
    assert result.exit_code == 0
    name = command.split()[0].upper()
    assert f"Error: {name} is refused in the sandbox: it {REFUSED[name]}." in result.stderr
    assert result.stderr.count("Error:") == 1
    assert "LPUSH q 'x'" in result.stdout  # the session goes on


def test_unknown_and_unusable_lines_say_what_to_do():
    result = sandbox(
        "LPSUH queue a\nMULTI\nBRPOP queue 0\nPUBLISH 'chat\nUNSUBSCRIBE chat\nhelp NOPE\n"
    )
    assert result.exit_code == 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 6
    assert "unknown command 'LPSUH' (did you mean LPUSH?)" in errors[0]
    assert "MULTI is not in the sandbox: a transaction needs a connection" in errors[1]
    assert "(0 would wait forever)" in errors[2] and "BRPOP queue 5" in errors[2]
    assert "cannot read that line" in errors[3]
    assert "no listener lane is subscribed to chat; SUBSCRIBE opens one" in errors[4]
    assert "unknown command 'NOPE'" in errors[5]
    assert "Traceback" not in result.output


def test_help_history_undo_and_quit():
    result = sandbox(
        "help\nhelp lmove\nLPUSH q a\nLPUSH q b\nhistory\nundo\nundo\nundo\nquit\nLPUSH q c\n"
    )
    assert result.exit_code == 0
    out = result.stdout
    assert "LPUSH LPOP" not in out and "lists" in out and "PUBLISH" in out
    assert "LMOVE source destination LEFT|RIGHT LEFT|RIGHT" in out
    assert "1  LPUSH q a\n2  LPUSH q b" in out
    assert "Undone: LPUSH q b" in out and "Undone: LPUSH q a" in out
    assert "nothing to undo yet" in result.stderr
    assert "LPUSH q 'c'" not in out  # quit stops reading


def test_end_of_input_ends_cleanly():
    result = sandbox("")
    assert result.exit_code == 0 and "Sandbox on" in result.stdout


def test_sixty_columns():
    result = sandbox(SESSION, columns=60)
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


@pytest.mark.real
def test_a_real_server_only_sees_keys_in_the_runs_namespace(redis_server):
    client = redis_server.client()
    client.set("foreign:queue", "keep")
    with Sandbox(redis_server.url) as box:
        box.run("LPUSH queue a")
        box.run("LPUSH foreign:queue x")  # the learner's name, inside the namespace
        box.run("DEL foreign:queue")
        box.run("RPUSH done z")
        first = box.backend.namespace.prefix
        assert all_keys(client, first + "*") >= {f"{first}queue".encode(), f"{first}done".encode()}
        box.undo()  # replays LPUSH queue a, LPUSH foreign:queue x, DEL foreign:queue
        second = box.backend.namespace.prefix
        assert second != first
        assert all_keys(client, first + "*") == set()  # the old namespace is gone
        assert client.lrange(f"{second}queue", 0, -1) == [b"a"]
        assert not client.exists(f"{second}done")
        assert [r.number for r in box.session.records] == [1, 2, 3]
    assert client.get("foreign:queue") == b"keep"
    assert all_keys(client, "tutor:{*}:queue") == set()
    client.delete("foreign:queue")


def test_a_pattern_lane_gets_messages_of_matching_channels(backend_spec):
    with Sandbox(backend_spec) as box:
        box.run("PSUBSCRIBE news.*")
        record = box.run("PUBLISH news.sport goal")
        assert record.output == "1\nlistener1 got 'goal' on news.sport"
        assert [c.client for c in record.commands] == ["you", "listener1"]
        assert record.commands[1].reply == ("pmessage", "news.*", "news.sport", "goal")
        assert dict(record.state)["news.sport"].count == 0  # NUMSUB counts no pattern


def test_undo_replays_listener_lanes():
    with Sandbox("fake") as box:
        box.run("SUBSCRIBE chat")
        box.run("PUBLISH chat one")
        box.run("PUBLISH chat two")
        assert box.undo() == "PUBLISH chat two"
        record = box.session.records[-1]
        assert record.output == "1\nlistener1 got 'one' on chat"
        assert box.session.lanes["listener1"].received == [("chat", "one")]
    with Sandbox("fake") as empty, pytest.raises(Refused, match="nothing to undo"):
        empty.undo()


def test_tab_completion_of_command_names():
    assert completions("LP", "LP") == ["LPOP", "LPOS", "LPUSH", "LPUSHX"]
    assert completions("pub", "pub") == ["publish", "pubsub"]
    assert completions("und", "und") == ["undo"]
    assert completions("LM", "help LM") == ["LMOVE", "LMPOP"]
    assert completions("q", "LPUSH q") == []  # no completion of values


def test_the_sandbox_refuses_at_least_what_the_gate_refuses():
    from redisqueue_tutor.keyspace.gate import REACHES_THE_SERVER
    from redisqueue_tutor.modes.sandbox import REFUSED

    server_wide = {name.split("|")[0].upper() for name in REACHES_THE_SERVER}
    assert server_wide - {"PUBSUB", "WAIT", "WAITAOF"} <= set(REFUSED)
