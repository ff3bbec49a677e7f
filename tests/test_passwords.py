"""Passwords are masked as a URL's is: in the trace's table and run file, and in the sandbox.

`AUTH` and `HELLO ... AUTH` went word for word to the execution table, the run file and the
sandbox's transcript. Redis is still sent the password; only what is shown and written is masked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.keyspace import catalogue
from redisqueue_tutor.modes.sandbox import CommandSpec, Refused, Sandbox
from redisqueue_tutor.run.passwords import masked_command, masked_line, masked_text, passwords_in
from redisqueue_tutor.run.records import CommandRecord, StepRecord
from redisqueue_tutor.run.tables import execution_row

runner = CliRunner()
SECRET = "hunter2-Secret"


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        (["AUTH", "pw"], ["AUTH", "***"]),
        (["auth", "alice", "pw"], ["auth", "alice", "***"]),
        (["AUTH", "a", "b", "c"], ["AUTH", "***", "***", "***"]),
        (["HELLO", "3", "AUTH", "bob", "pw", "SETNAME", "me"], None),
        (["HELLO", "3"], ["HELLO", "3"]),
        (["MIGRATE", "h", "1", "k", "0", "5", "AUTH2", "u", "pw"], None),
        (["ACL", "SETUSER", "bob", "on", ">pw", "~tutor:*"], None),
        (["CONFIG", "SET", "maxmemory", "1", "requirepass", "pw"], None),
        (["LPUSH", "AUTH", "pw"], ["LPUSH", "AUTH", "pw"]),  # a key called AUTH is no password
    ],
)
def test_each_command_that_carries_a_password_is_masked_where_it_stands(words, shown):
    masked = masked_command(words)
    if shown is not None:
        assert list(masked) == shown
    else:
        assert "pw" not in masked and len(masked) == len(words)
        assert any(w.endswith("***") for w in masked)
    hidden = [w.lstrip("><#!") for w, m in zip(words, masked, strict=True) if m != w]
    assert passwords_in(words) == hidden


def test_masked_command_keeps_the_acl_rule_sign_and_the_rest():
    shown = masked_command(["ACL", "SETUSER", "bob", "on", ">pw", "<old", "~tutor:*"])
    assert shown == ("ACL", "SETUSER", "bob", "on", ">***", "<***", "~tutor:*")
    assert masked_command(["HELLO", "3", "AUTH", "bob", "pw", "SETNAME", "me"]) == (
        "HELLO",
        "3",
        "AUTH",
        "bob",
        "***",
        "SETNAME",
        "me",
    )


def test_program_lines_and_typed_lines_are_masked():
    line = f"r = redis.Redis(password=\"{SECRET}\"); r.auth('{SECRET}')"
    assert masked_text(line, [SECRET]) == "r = redis.Redis(password=\"***\"); r.auth('***')"
    url = "r = redis.from_url('rediss://alice:p%40ss@host:6380/0')"
    assert masked_text(url) == "r = redis.from_url('rediss://alice:***@host:6380/0')"
    assert masked_line(f"AUTH alice {SECRET}") == "AUTH alice ***"
    assert masked_line(f"hello 3 auth default '{SECRET} x'") == "hello 3 auth default ***"
    assert masked_line("LPUSH queue 'a b'") == "LPUSH queue 'a b'"
    assert masked_line("LPUSH queue 'unclosed") == "LPUSH queue 'unclosed"


PROGRAM = """\
import sys, redis
password = sys.argv[1]
r = redis.Redis(host="example.invalid", password="{secret}", decode_responses=True)
r.rpush("q", "a")
print(r.execute_command("HELLO", "3", "AUTH", "default", "{secret}")["proto"])
redis.from_url("redis://:{secret}@example.invalid:6379/0").ping()
redis.Redis(password="{secret}").rpush("q", "b")
"""

AUTH_PROGRAM = """\
import sys, redis
password = sys.argv[1]
r = redis.Redis(decode_responses=True)
print(r.auth(password))
print(r.execute_command("AUTH", "default", password))
print(r.execute_command("HELLO", "3", "AUTH", "default", password)["proto"])
r.rpush("q", "after auth")
"""


def _trace(script: Path, backend: str, out: Path):
    return runner.invoke(
        app,
        ["trace", str(script), "--plain", "--backend", backend, "-o", str(out), "--", SECRET],
    )


def test_a_traced_programs_passwords_are_masked_in_the_table_and_the_run_file(
    backend_spec: str, tmp_path: Path
):
    script = tmp_path / "hello.py"
    script.write_text(PROGRAM.format(secret=SECRET))
    run_file = tmp_path / "run.json"
    result = _trace(script, backend_spec, run_file)
    assert result.exit_code == 0, result.output
    assert "3" in result.stdout  # HELLO was sent as written: the program got its answer
    written = run_file.read_text()
    for text in (result.stdout, result.stderr, written):
        assert SECRET not in text
    assert "HELLO 3 AUTH default ***" in result.stdout
    steps = json.loads(written)["steps"]
    assert ["HELLO", "3", "AUTH", "default", "***"] in [
        c["args"] for s in steps for c in s["commands"]
    ]
    actions = [s["action"] for s in steps]
    assert any('"AUTH", "default", "***")' in a for a in actions)  # the program line, masked
    assert any("redis://:***@example.invalid" in a for a in actions)
    assert 'line 7: redis.Redis(password="***").rpush("q", "b")' in actions


@pytest.mark.real
def test_auth_on_a_server_with_a_password_is_sent_whole_and_shown_masked(
    start_server, tmp_path: Path
):
    server = start_server(password=SECRET)
    script = tmp_path / "auth.py"
    script.write_text(AUTH_PROGRAM)
    run_file = tmp_path / "run.json"
    result = _trace(script, server.url, run_file)
    assert result.exit_code == 0, result.output
    # Redis accepted each AUTH: the password reached it whole.
    assert "True" in result.stdout and "OK" in result.stdout
    written = run_file.read_text()
    for text in (result.stdout, result.stderr, written):
        assert SECRET not in text
    sent = [c["args"] for s in json.loads(written)["steps"] for c in s["commands"]]
    assert ["AUTH", "***"] in sent and ["AUTH", "default", "***"] in sent
    assert ["HELLO", "3", "AUTH", "default", "***"] in sent
    assert ["RPUSH", "q", "after auth"] in sent


def test_a_password_typed_at_the_sandbox_prompt_is_not_in_the_transcript():
    result = runner.invoke(
        app,
        ["sandbox", "--plain"],
        input=f"LPUSH queue a\nAUTH {SECRET}\nHELLO 3 AUTH default {SECRET}\nhistory\n",
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "sandbox> AUTH ***" in result.stdout
    assert "sandbox> HELLO 3 AUTH default ***" in result.stdout
    assert "AUTH is refused in the sandbox" in result.stderr


@pytest.fixture
def sandbox_with_auth(monkeypatch):
    """The sandbox with AUTH among its commands, as when the gate lets the handshake through:
    the masking of history, of the table and of undo is then what keeps the password hidden."""
    monkeypatch.setitem(catalogue.COMMANDS, "AUTH", CommandSpec("AUTH", "AUTH pw", "log in"))
    monkeypatch.delitem(catalogue.REFUSED, "AUTH")


@pytest.mark.real
def test_sandbox_history_table_and_undo_mask_the_password_and_replay_it_whole(
    sandbox_with_auth, start_server
):
    server = start_server(password=SECRET)
    with Sandbox(server.url) as box:
        row = box.run(f"AUTH {SECRET}")
        assert row.commands[0].args == ("AUTH", "***") and row.commands[0].reply == "OK"
        assert SECRET not in repr(row)
        box.run("LPUSH queue a")
        box.run("LPUSH queue b")
        assert box.history == ["AUTH ***", "LPUSH queue a", "LPUSH queue b"]
        assert box.undo() == "LPUSH queue b"
        # The replay sent the AUTH as typed: with *** the server would have refused it.
        replayed = box.session.records[0].commands[0]
        assert replayed.args == ("AUTH", "***") and replayed.reply == "OK"
        assert box.history == ["AUTH ***", "LPUSH queue a"]
        box.run("LPUSH queue c")
        assert box.undo() == "LPUSH queue c"
        assert box.undo() == "LPUSH queue a"
        assert box.undo() == "AUTH ***"
        with pytest.raises(Refused):
            box.undo()


def test_the_execution_table_never_shows_a_password_whoever_recorded_it():
    record = StepRecord(
        number=1,
        actor="r",
        action="line 3: r.auth(pw)",
        commands=(CommandRecord("r", ("AUTH", "alice", SECRET), "OK"),),
        output="",
        state=(),
        variables=(),
    )
    row = execution_row(record, frozenset())
    assert row.command == "AUTH alice ***" and SECRET not in " ".join(row.cells())
