"""`tutor doctor`: what an instructor runs before class, on every kind of backend."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.doctor import CHECKS, diagnose
from tests.conftest import _free_port, all_keys


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


def test_nothing_listening_fails_connect_with_exit_1():
    url = f"redis://127.0.0.1:{_free_port()}/0"
    result = CliRunner().invoke(app, ["doctor", "--plain", "--backend", url])
    assert result.exit_code == 1
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
