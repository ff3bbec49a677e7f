"""A real server: the tutor says where it is, refuses what it cannot use, and blocks correctly."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from redis.exceptions import NoPermissionError
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.keyspace.gate import Refused
from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import BackendError, explain, running
from tests.conftest import all_keys

pytestmark = pytest.mark.real


def test_the_step_header_names_server_version_db_and_namespace(redis_server):
    result = CliRunner().invoke(app, ["step", "queue", "--plain", "--redis-url", redis_server.url])
    assert result.exit_code == 0, result.output
    version = redis_server.client().execute_command("HELLO")[b"version"].decode()
    header = f"Redis {version} at 127.0.0.1:{redis_server.port} db 0, keys in tutor:{{"
    assert header in result.stdout.replace("\n", " ")
    assert "LPUSH queue 'task1'" in result.stdout  # the learner sees the short name


def test_a_replica_is_refused(redis_server, start_server):
    replica = start_server("--replicaof", "127.0.0.1", str(redis_server.port))
    expected = "read-only replica; point the tutor at its primary"
    with pytest.raises(BackendError, match=expected), running(replica.url):
        pass
    result = CliRunner().invoke(app, ["step", "queue", "--plain", "--redis-url", replica.url])
    assert result.exit_code == 3 and expected in result.stderr and "Step 1" not in result.stdout


def test_a_cluster_node_is_refused_with_what_a_cluster_needs(start_server, tmp_path):
    node = start_server(
        "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf")
    )
    with pytest.raises(BackendError) as caught, running(node.url):
        pass
    message = str(caught.value)
    assert "Redis Cluster node" in message and "hash slot" in message and "standalone" in message


def test_a_wait_longer_than_the_socket_timeout_is_neither_cut_nor_resent(start_server):
    server = start_server()
    with running(server.url + "?socket_timeout=0.2") as backend:
        consumer = backend.client("consumer")
        key = backend.namespace.key("queue")
        assert consumer.execute_command("BRPOP", key, "0.6") is None  # timed out on its own
        pusher = threading.Timer(0.6, backend.observer.lpush, (key, "late task"))
        pusher.start()
        assert list(consumer.execute_command("BLPOP", key, "0")) == [key, "late task"]  # forever
        pusher.join()
        assert consumer.ping()  # and the ordinary timeout is back for the next command
        sent = [c.args[0] for c in backend.log.since(0)]
    assert sent == ["BRPOP", "BLPOP", "PING"]
    stats = server.client().info("commandstats")
    assert stats["cmdstat_brpop"]["calls"] == 1 and stats["cmdstat_blpop"]["calls"] == 1


CLASS_USER = ("on", ">classpw", "resetkeys", "~tutor:*", "+@all", "-@dangerous", "-@admin")


def test_every_lesson_runs_as_the_restricted_class_user(start_server):
    """The ACL user the README recommends for classes is enough for every lesson."""
    server = start_server()
    admin = server.client()
    admin.execute_command("ACL", "SETUSER", "tutor", *CLASS_USER, "allchannels")
    admin.set("payroll", "secret")
    url = f"redis://tutor:classpw@127.0.0.1:{server.port}/0"
    for lesson_id in sorted(discover()):
        with running(url) as backend:
            _start, records = run_lesson(find_lesson(lesson_id), backend)
            assert records and not any(c.error for r in records for c in r.commands)
    assert all_keys(admin) == {b"payroll"}
    with running(url) as backend, pytest.raises(Refused):
        backend.client("x").get("payroll")  # the tutor's gate stops it before it is sent...
    with pytest.raises(NoPermissionError):
        redis.Redis.from_url(url).get("payroll")  # ...and the class user could not read it anyway


def test_pattern_subscriptions_need_all_channels_in_the_acl(start_server):
    # Redis checks a PSUBSCRIBE pattern LITERALLY against the user's channel patterns, so
    # &tutor:* does not allow PSUBSCRIBE tutor:{id}:notif*: the class user needs allchannels.
    server = start_server()
    server.client().execute_command(
        "ACL", "SETUSER", "tutor", *CLASS_USER, "resetchannels", "&tutor:*"
    )
    with running(f"redis://tutor:classpw@127.0.0.1:{server.port}/0") as backend:
        pubsub = backend.client("listener").pubsub()
        pubsub.subscribe(backend.namespace.key("notifications"))  # a plain channel is fine
        pubsub.psubscribe(backend.namespace.key("notif*"))
        with pytest.raises(NoPermissionError) as caught:  # the refusal comes as the next reply
            for _ in range(50):
                pubsub.get_message(timeout=0.1)
        pubsub.close()
    assert "README on ACL users" in explain(caught.value)


def test_a_slow_step_is_not_a_timeout(start_server):
    # The ordinary command timeout is per command, not per lesson: pauses between steps are fine.
    server = start_server()
    with running(server.url + "?socket_timeout=0.2") as backend:
        client = backend.client("producer")
        client.lpush(backend.namespace.key("queue"), "a")
        time.sleep(0.4)
        assert client.rpop(backend.namespace.key("queue")) == "a"
