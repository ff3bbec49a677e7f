"""`tutor doctor`: what an instructor runs before class, on every kind of backend."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import discover, load_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.modes.doctor import CHECKS, diagnose
from redisqueue_tutor.run.backend import open_backend, running
from tests.conftest import ROOT, _free_port, all_keys


def _sent(commands) -> set[str]:
    """Command names, with the subcommand of a container command (XGROUP CREATE)."""
    return {
        " ".join(c.args[:2]).upper() if c.name in ("XGROUP", "XINFO", "PUBSUB") else c.name
        for c in commands
        if c.args
    }


def states(diagnosis) -> dict[str, bool | None]:
    return {check.name: check.ok for check in diagnosis.checks}


def test_fake_backend_passes_every_check():
    diagnosis = diagnose("fake")
    assert diagnosis.ok
    assert list(states(diagnosis)) == list(CHECKS)


@pytest.mark.real
def test_real_server_passes_every_check_and_leaves_nothing(start_server):
    server = start_server()
    server.client().set("foreign", "x")
    result = CliRunner().invoke(app, ["doctor", "--plain", "--backend", server.url])
    assert result.exit_code == 0, result.output
    for line in ("ok   connect", "ok   auth", "ok   server", "ok   pub/sub", "Ready:"):
        assert line in result.stdout
    version = server.client().execute_command("HELLO")[b"version"].decode()
    assert f"Redis {version} at 127.0.0.1:{server.port} db 0" in result.stdout
    assert all_keys(server.client()) == {b"foreign"}


@pytest.mark.real
def test_wrong_password_fails_auth_and_skips_the_rest(start_server):
    server = start_server(password="pw")
    diagnosis = diagnose(server.url.replace(":pw@", ":nope@"))
    assert not diagnosis.ok
    assert states(diagnosis) == {
        "connect": True,
        "auth": False,
        **{name: None for name in CHECKS[2:]},
    }
    assert "nope" not in diagnosis.backend and "***" in diagnosis.backend


def test_nothing_listening_fails_connect_with_exit_3_as_the_readme_says():
    url = f"redis://127.0.0.1:{_free_port()}/0"
    result = CliRunner().invoke(app, ["doctor", "--plain", "--backend", url])
    assert result.exit_code == 3
    readme = (ROOT / "README.md").read_text()
    assert "`3` the Redis backend failed" in readme
    assert re.search(r"`tutor doctor`.*exits 0 only when all pass and 3 otherwise", readme, re.S)
    assert "3 the backend is not ready" in " ".join(
        CliRunner().invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"}).stdout.split()
    )
    assert "FAIL connect" in result.stdout and "Connection refused" in result.stdout
    assert "skip auth" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.real
def test_a_replica_fails_the_server_check(redis_server, start_server):
    replica = start_server("--replicaof", "127.0.0.1", str(redis_server.port))
    diagnosis = diagnose(replica.url)
    assert states(diagnosis)["server"] is False
    assert "replica" in diagnosis.checks[2].detail


@pytest.mark.real
def test_acl_user_without_channels_fails_pubsub(start_server):
    server = start_server()
    server.client().execute_command(
        "ACL", "SETUSER", "tutor", "on", ">pw", "resetkeys", "~tutor:*", "resetchannels", "+@all"
    )
    diagnosis = diagnose(f"redis://tutor:pw@127.0.0.1:{server.port}/0")
    assert states(diagnosis)["lists"] is True
    assert states(diagnosis)["pub/sub"] is False
    assert "ACL" in diagnosis.checks[CHECKS.index("pub/sub")].detail


def test_the_doctor_tries_every_command_the_lessons_send():
    opened = []

    def opener(spec):
        opened.append(open_backend(spec))
        return opened[-1]

    assert diagnose("fake", opener=opener).ok
    tried = _sent(opened[0].log.since(0))
    used: set[str] = set()
    for source in discover().values():
        with running("fake") as backend:
            _start, records = run_lesson(load_lesson(source.path), backend)
        used |= _sent(c for record in records for c in record.commands)
    assert {"XADD", "XREADGROUP", "XAUTOCLAIM", "PSUBSCRIBE", "LMOVE"} <= used
    assert used <= tried, f"the lessons send {sorted(used - tried)}, which the doctor never tries"


@pytest.mark.real
def test_acl_user_without_streams_fails_the_streams_check(start_server):
    server = start_server()
    server.client().execute_command(
        "ACL",
        "SETUSER",
        "tutor",
        "on",
        ">pw",
        "resetkeys",
        "~tutor:*",
        "allchannels",
        "+@all",
        "-@stream",
    )
    url = f"redis://tutor:pw@127.0.0.1:{server.port}/0"
    diagnosis = diagnose(url)
    assert states(diagnosis)["lists"] is True
    assert states(diagnosis)["streams"] is False
    assert "ACL" in diagnosis.checks[CHECKS.index("streams")].detail
    assert states(diagnosis)["pub/sub"] is None  # skipped after the failure
    result = CliRunner().invoke(app, ["doctor", "--plain", "--backend", url])
    assert result.exit_code == 3
    assert "FAIL streams" in result.stdout and "Ready" not in result.stdout
    assert all_keys(server.client()) == set()
