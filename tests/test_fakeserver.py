"""The embedded server records where commands arrive: every client of every process, in order.

Pins the private fakeredis methods the recorder wraps, so that an upgrade that changes them fails
here first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time

import fakeredis
import pytest
import redis
import redis.asyncio

from redisqueue_tutor.run.fakeserver import (
    PROVEN_ON,
    ServedServer,
    ServerEvent,
    ServerRecorder,
    new_server,
)

HANDSHAKE = {b"HELLO", b"CLIENT", b"AUTH"}


@pytest.fixture
def recorded():
    events: list[ServerEvent] = []
    lock = threading.Lock()

    def keep(event: ServerEvent) -> None:
        with lock:
            events.append(event)

    server = new_server()
    recorder = ServerRecorder(server, keep)
    served = ServedServer(server)
    yield server, served, events
    served.close()
    recorder.close()


def commands(events: list[ServerEvent], name: str) -> list[tuple[bytes, ...]]:
    return [
        e.command for e in events if e.name == name and not e.push and e.command[0] not in HANDSHAKE
    ]


def test_the_fakeredis_it_leans_on_is_one_it_is_proven_on():
    assert any(fakeredis.__version__.startswith(v) for v in PROVEN_ON), fakeredis.__version__
    from fakeredis._socket._base import BaseFakeSocket

    # The two methods every client's commands and every reply pass through.
    assert BaseFakeSocket._process_command.__name__ == "_process_command"
    assert BaseFakeSocket.put_response.__name__ == "_put_response"


def test_clients_of_every_kind_are_recorded_in_the_servers_order(recorded):
    server, served, events = recorded
    sync = redis.Redis(port=served.port, client_name="producer")
    sync.lpush("queue", "task1")

    async def produce() -> None:
        client = redis.asyncio.Redis(port=served.port, client_name="async-web")
        await client.rpush("queue", "task2")
        await client.aclose()

    asyncio.run(produce())
    fakeredis.FakeRedis(server=server, client_name="in-process").llen("queue")
    cli = shutil.which("redis-cli")
    if cli:
        subprocess.run([cli, "-p", str(served.port), "CLIENT", "SETNAME", "cli"], check=True)
    child = (
        "import redis, sys; r = redis.Redis(port=int(sys.argv[1]), client_name='child');"
        " r.lpop('queue')"
    )
    subprocess.run([sys.executable, "-c", child, str(served.port)], check=True)
    assert commands(events, "producer") == [(b"LPUSH", b"queue", b"task1")]
    assert commands(events, "async-web") == [(b"RPUSH", b"queue", b"task2")]
    assert commands(events, "in-process") == [(b"LLEN", b"queue")]
    assert commands(events, "child") == [(b"LPOP", b"queue")]
    lpush = next(e for e in events if e.command[:1] == (b"LPUSH",))
    assert lpush.replies == (1,)
    pop = next(e for e in events if e.command[:1] == (b"LPOP",))
    assert pop.replies == (b"task1",)  # the server's own answer, binary-safe
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_messages_pushed_to_a_subscriber_are_events_of_their_own(recorded):
    _server, served, events = recorded
    listener = redis.Redis(port=served.port, client_name="listener").pubsub()
    listener.psubscribe("news*")
    listener.get_message(timeout=2)
    publisher = redis.Redis(port=served.port, client_name="publisher")
    assert publisher.publish("news.eu", "hi") == 1
    assert listener.get_message(timeout=2)["data"] == b"hi"
    listener.close()
    pushes = [e for e in events if e.push]
    assert [(e.name, e.replies[0]) for e in pushes] == [
        ("listener", [b"pmessage", b"news*", b"news.eu", b"hi"])
    ]
    subscribe = next(e for e in events if e.command[:1] == (b"PSUBSCRIBE",))
    assert subscribe.replies[0][0] == b"psubscribe"


def test_a_blocked_command_is_recorded_with_the_answer_it_woke_to(recorded):
    _server, served, events = recorded
    worker = redis.Redis(port=served.port, client_name="worker")
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(worker.brpop("queue", timeout=5)))
    thread.start()
    producer = redis.Redis(port=served.port, client_name="producer")
    deadline = time.monotonic() + 10
    while not any(e.command[:1] == (b"BRPOP",) for e in events) and time.monotonic() < deadline:
        if any(e.name == "worker" and e.command[:1] == (b"CLIENT",) for e in events):
            time.sleep(0.1)  # connected; let BRPOP arrive and block
            break
        time.sleep(0.01)
    producer.lpush("queue", "task1")
    thread.join(10)
    assert got == [(b"queue", b"task1")]
    brpop = next(e for e in events if e.command[:1] == (b"BRPOP",))
    assert brpop.replies == ([b"queue", b"task1"],) and brpop.name == "worker"


def test_info_and_client_info_answer_what_workers_ask(recorded):
    _server, served, _events = recorded
    client = redis.Redis(port=served.port)
    assert client.info("server")["redis_version"] == "7.0.0"
    assert client.client_info()["addr"].startswith("127.0.0.1:")  # parse_client_info reads it


def test_other_servers_are_not_recorded(recorded):
    _server, _served, events = recorded
    before = len(events)
    fakeredis.FakeRedis().set("elsewhere", "1")  # a server of its own, not the run's
    assert len(events) == before


def test_a_list_read_in_place_is_what_lrange_answers():
    """run/fakeserver.read_list reads fakeredis's database directly (private API, pinned with the
    hooks above): the trace's state view uses it after every step that changes a list."""
    from redisqueue_tutor.run.fakeserver import NotAList, new_server, read_list

    server = new_server()
    client = fakeredis.FakeRedis(server=server)
    client.rpush("q", "a", b"\x80", "c")
    client.set("s", "x")
    client.rpush("gone", "1")
    client.pexpire("gone", 1)
    time.sleep(0.01)
    client.rpush("other", "z")
    client.execute_command("SELECT", 0)
    assert read_list(server, 0, b"q") == client.lrange("q", 0, -1) == [b"a", b"\x80", b"c"]
    assert read_list(server, 0, b"missing") == client.lrange("missing", 0, -1) == []
    assert read_list(server, 0, b"gone") == [] and client.lrange("gone", 0, -1) == []
    with pytest.raises(NotAList):
        read_list(server, 0, b"s")
    other = fakeredis.FakeRedis(server=server, db=3)
    other.rpush("q", "db3")
    assert read_list(server, 3, b"q") == [b"db3"]


def test_the_served_server_answers_clients_past_descriptor_1024(recorded):
    # fakeredis's handler waited with select(), which refuses a descriptor above 1023 (a traced
    # program with a few hundred asyncio clients gets there): it waits with poll() here.
    import resource

    _server, served, _events = recorded
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 and hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open only {hard} descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = [os.pipe() for _ in range(560)]  # the next sockets get descriptors above 1023
    try:
        client = redis.Redis(port=served.port, socket_timeout=5)
        assert client.set("far", "ok") and client.get("far") == b"ok"
        client.close()
    finally:
        for read, write in filler:
            os.close(read)
            os.close(write)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
