"""The recording proxy in front of a real server: what goes through it is what the server would
answer, under the run's names; what the gate refuses never arrives; every reply is an event.

The proxy runs in this process; the server is the tests' own (tests/conftest.py). "Direct" means
a client of the same server without the proxy, naming a second namespace's keys itself.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import hiredis
import pytest
import redis
import redis.asyncio

from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.run.proxy import RecordingProxy, WireEvent
from redisqueue_tutor.run.proxy_session import ClientSession
from redisqueue_tutor.run.resp import ReplyFramer, encode, shorten
from redisqueue_tutor.run.server import Namespace
from tests.conftest import RedisServer, all_keys, missing

real = pytest.mark.real


class Run:
    """A proxy of one namespace, and what it recorded."""

    def __init__(
        self,
        server: RedisServer,
        url: str | None = None,
        on_event: Callable[[WireEvent], None] | None = None,
        databases: bool = False,
    ):
        self.server = server
        self.namespace = Namespace.new()
        self.prefix = self.namespace.prefix
        self.events: list[WireEvent] = []
        self.proxy = RecordingProxy(
            url or server.url,
            prefix=self.prefix,
            gate=Gate(self.prefix),
            on_event=on_event or self.events.append,
            databases=databases,
        ).start()

    def client(self, **options: Any) -> redis.Redis:
        options.setdefault("socket_timeout", 10)
        return redis.Redis.from_url(self.proxy.url, **options)

    def program_events(self) -> list[WireEvent]:
        """The events of the program's own commands: redis-py's handshake left out."""
        return [e for e in self.events if not handshake(e)]

    def server_keys(self) -> set[bytes]:
        return all_keys(self.server.client(), match=self.namespace.pattern)


def handshake(event: WireEvent) -> bool:
    """redis-py's opening of a connection: HELLO 3, CLIENT SETINFO, CLIENT MAINT_NOTIFICATIONS."""
    command = event.command
    if command[:1] == (b"HELLO",):
        return len(command) <= 2
    return command[:2] in ((b"CLIENT", b"SETINFO"), (b"CLIENT", b"MAINT_NOTIFICATIONS"))


@pytest.fixture
def start_run(redis_server: RedisServer) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(server: RedisServer | None = None, **kwargs: Any) -> Run:
        run = Run(server or redis_server, **kwargs)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.proxy.close()
        if run.server is redis_server:  # the shared server keeps nothing of a test
            checker = redis_server.client()
            for key in all_keys(checker, match=run.namespace.pattern):
                checker.unlink(key)


def short(value: Any, prefix: bytes) -> Any:
    """A direct client's reply with the namespace taken off its names, as the proxy does."""
    if isinstance(value, bytes):
        return value.removeprefix(prefix) if len(value) > len(prefix) else value
    if isinstance(value, list | tuple):
        return type(value)(short(v, prefix) for v in value)
    if isinstance(value, dict):
        return {short(k, prefix): short(v, prefix) for k, v in value.items()}
    if isinstance(value, set):
        return {short(v, prefix) for v in value}
    return value


def exercise(make: Callable[[], redis.Redis], k: Callable[[str], str]) -> list[Any]:
    """One program over lists, hashes, sets, sorted sets, strings, streams, pipelines, MULTI/EXEC
    and blocking pops: every reply, in order. `k` names a key (short through the proxy)."""
    r = make()
    out: list[Any] = []
    add = out.append
    add(r.rpush(k("list"), "a", "b", "c"))
    add(r.lpush(k("list"), "z"))
    add(r.lrange(k("list"), 0, -1))
    add(r.lpos(k("list"), "b"))
    add(r.lmove(k("list"), k("list2"), "LEFT", "RIGHT"))
    add(r.lmpop(2, k("empty"), k("list"), direction="RIGHT", count=2))  # names the key it popped
    add(r.rpoplpush(k("list"), k("list2")))
    add(r.lrange(k("list2"), 0, -1))
    add(r.hset(k("hash"), mapping={"f1": "v1", "f2": b"\x00\xff\r\n"}))
    add(r.hgetall(k("hash")))
    add(r.hincrby(k("hash"), "n", 5))
    add(r.hmget(k("hash"), "f1", "nope"))
    add(r.sadd(k("s1"), "a", "b", "c"))
    add(r.sadd(k("s2"), "b", "d"))
    add(sorted(r.smembers(k("s1"))))
    add(sorted(r.sinter(k("s1"), k("s2"))))
    add(r.smismember(k("s1"), ["a", "d"]))
    add(r.zadd(k("z"), {"a": 1.5, "b": 2, "c": 3}))
    add(r.zrange(k("z"), 0, -1, withscores=True))
    add(r.zscore(k("z"), "a"))
    add(r.zincrby(k("z"), 1, "a"))
    add(r.zpopmin(k("z")))
    add(r.bzpopmin(k("z"), 1))  # names the key it popped from
    binary = bytes(range(256))
    add(r.set(k("bin"), binary))
    add(r.get(k("bin")))
    add(r.set(k("ctl"), "a\r\nb\x1b[31m\x00"))
    add(r.get(k("ctl")))
    add(r.mset({k("m1"): "1", k("m2"): "two"}))
    add(r.mget(k("m1"), k("m2"), k("missing")))
    add(r.incrbyfloat(k("float"), 1.25))
    add(r.append(k("m2"), "!"))
    add(r.set(k("m1"), "new", get=True))
    return out + exercise_streams_and_blocking(make, k)


def exercise_streams_and_blocking(
    make: Callable[[], redis.Redis], k: Callable[[str], str]
) -> list[Any]:
    r = make()
    out: list[Any] = []
    add = out.append
    add(r.hset(k("hash"), "f2", b"\x00\xff\r\n"))
    add(r.xadd(k("stream"), {"job": "1"}, id="1-1"))
    add(r.xadd(k("stream"), {"job": "2"}, id="1-2"))
    add(r.xgroup_create(k("stream"), "workers", id="0"))
    add(r.xreadgroup("workers", "w1", {k("stream"): ">"}, count=1))
    add(r.xack(k("stream"), "workers", "1-1"))
    add(r.xreadgroup("workers", "w1", {k("stream"): ">"}))
    add(r.xpending(k("stream"), "workers"))
    add(r.xautoclaim(k("stream"), "workers", "w2", 0, "0-0"))
    add(r.xread({k("stream"): "0-0"}, count=5))
    add(r.xlen(k("stream")))
    pipe = r.pipeline(transaction=False)
    pipe.incr(k("count")).incr(k("count")).get(k("count")).lpush(k("hash"), "wrong type")
    add([str(x) if isinstance(x, Exception) else x for x in pipe.execute(raise_on_error=False)])
    pipe = r.pipeline()  # MULTI ... EXEC
    pipe.lpush(k("tx"), "1").lrange(k("tx"), 0, -1).hget(k("hash"), "f2")
    add(pipe.execute())
    add(r.brpop(k("wait"), 0.1))  # times out: None
    pusher = threading.Timer(0.2, lambda: make().lpush(k("wait"), "woken"))
    pusher.start()
    add(r.brpop(k("wait"), 5))  # woken by another client's push: names its key
    pusher.join()
    try:
        r.lpush(k("hash"), "x")
    except redis.ResponseError as exc:
        add(f"error: {exc}")
    return out


@real
@pytest.mark.parametrize("protocol", [2, 3])
def test_a_program_gets_the_same_replies_through_the_proxy(start_run, redis_server, protocol):
    run = start_run()
    through = exercise(lambda: run.client(protocol=protocol), lambda name: name)
    other = Namespace.new()
    try:
        straight = exercise(
            lambda: redis_server.client(protocol=protocol, socket_timeout=10), other.key
        )
    finally:
        checker = redis_server.client()
        for key in all_keys(checker, match=other.pattern):
            checker.unlink(key)
    assert through == short(straight, other.prefix.encode())
    assert through[5] == [b"list", [b"c", b"b"]]  # LMPOP's key, short
    assert list(through[-2]) == [b"wait", b"woken"]  # BRPOP's key, short
    assert through[-3] is None  # BRPOP timed out
    assert through[9] == {b"f1": b"v1", b"f2": b"\x00\xff\r\n"}
    assert through[24] == bytes(range(256))


def raw_exchange(port: int, commands: list[tuple[bytes, ...]], replies_due: int = 0) -> list[bytes]:
    """Each reply's bytes exactly as they came, for commands pipelined on one raw socket (one
    reply each, unless `replies_due` says how many in all)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(encode(c) for c in commands))
        framer = ReplyFramer()
        replies: list[bytes] = []
        while len(replies) < (replies_due or len(commands)):
            data = sock.recv(65536)
            assert data, "the connection closed before every reply came"
            framer.feed(data)
            while (span := framer.next_reply()) is not None:
                replies.append(bytes(framer.buffer[span[0] : span[1]]))
        return replies


def raw_program(protocol: bytes, k: Callable[[bytes], bytes]) -> list[tuple[bytes, ...]]:
    value = b"\x00\r\n$3\r\n*1\r\n" + bytes(range(256))  # bytes that look like RESP
    return [
        (b"HELLO", protocol),
        (b"RPUSH", k(b"l"), b"a", b"b"),
        (b"LRANGE", k(b"l"), b"0", b"-1"),
        (b"HSET", k(b"h"), b"f", b"1", b"g", value),
        (b"HGETALL", k(b"h")),  # a map on RESP3
        (b"SADD", k(b"s"), b"x"),
        (b"SMEMBERS", k(b"s")),  # a set on RESP3
        (b"ZADD", k(b"z"), b"1.5", b"m"),
        (b"ZSCORE", k(b"z"), b"m"),  # a double on RESP3
        (b"ZRANGE", k(b"z"), b"0", b"-1", b"WITHSCORES"),
        (b"GET", k(b"missing")),  # a null
        (b"SET", k(b"v"), value),
        (b"GET", k(b"v")),
        (b"LPUSH", k(b"h"), b"x"),  # WRONGTYPE
        (b"EXISTS", k(b"v"), k(b"missing")),
        (b"XADD", k(b"x"), b"1-1", b"f", value),
        (b"XRANGE", k(b"x"), b"-", b"+"),
        (b"RPUSH", k(b"w"), b"job"),
        (b"BRPOP", k(b"w"), b"1"),  # names its key
    ]


@real
@pytest.mark.parametrize("protocol", [b"2", b"3"])
def test_replies_pass_byte_for_byte_and_only_names_are_shortened(start_run, redis_server, protocol):
    run = start_run()
    other = Namespace.new().prefix.encode()
    through = raw_exchange(run.proxy.port, raw_program(protocol, lambda name: name))
    straight = raw_exchange(redis_server.port, raw_program(protocol, lambda name: other + name))
    checker = redis_server.client()
    for key in all_keys(checker, match=other.decode() + "*"):
        checker.unlink(key)
    assert through[1:-1] == straight[1:-1]  # HELLO's reply carries the connection's id
    long_key = other + b"w"
    assert straight[-1] == b"*2\r\n$%d\r\n%s\r\n$3\r\njob\r\n" % (len(long_key), long_key)
    assert through[-1] == b"*2\r\n$1\r\nw\r\n$3\r\njob\r\n"
    assert through[13].startswith(b"-WRONGTYPE")
    if protocol == b"3":
        assert through[4].startswith(b"%2\r\n") and through[6] == b"~1\r\n$1\r\nx\r\n"
        assert through[8] == b",1.5\r\n" and through[10] == b"_\r\n"
    assert run.server_keys() == {
        run.prefix.encode() + n for n in (b"l", b"h", b"s", b"z", b"v", b"x")
    }


def listen(make: Callable[[], redis.Redis], k: Callable[[str], str]) -> list[Any]:
    """A subscriber's messages (SUBSCRIBE, PSUBSCRIBE, messages, UNSUBSCRIBE), in order."""
    subscriber = make().pubsub()
    publisher = make()
    subscriber.subscribe(k("news"), k("jobs"))
    subscriber.psubscribe(k("log:*"))
    seen: list[Any] = []

    def take(count: int) -> None:
        deadline = time.monotonic() + 5
        while count and time.monotonic() < deadline:
            message = subscriber.get_message(timeout=0.5)
            if message is not None:
                seen.append(message)
                count -= 1

    take(3)  # the three confirmations
    seen.append(publisher.publish(k("news"), b"hello\x00\r\n"))
    seen.append(publisher.publish(k("log:error"), "disk full"))
    seen.append(publisher.publish(k("elsewhere"), "nobody"))
    take(2)
    subscriber.unsubscribe(k("news"))
    subscriber.punsubscribe()
    take(2)
    subscriber.close()
    return seen


@real
@pytest.mark.parametrize("protocol", [2, 3])
def test_a_subscriber_gets_the_same_messages_under_short_names(start_run, redis_server, protocol):
    run = start_run()
    through = listen(lambda: run.client(protocol=protocol), lambda name: name)
    other = Namespace.new()
    straight = listen(lambda: redis_server.client(protocol=protocol), other.key)
    assert through == short(straight, other.prefix.encode())
    assert {
        "type": "pmessage",
        "pattern": b"log:*",
        "channel": b"log:error",
        "data": b"disk full",
    } in through
    assert {
        "type": "message",
        "pattern": None,
        "channel": b"news",
        "data": b"hello\x00\r\n",
    } in through
    pushes = [e for e in run.events if e.push]
    assert [e.command for e in pushes] == [(), ()]
    assert pushes[0].reply == [b"message", b"news", b"hello\x00\r\n"]
    assert pushes[1].reply == [b"pmessage", b"log:*", b"log:error", b"disk full"]
    confirmations = [e for e in run.events if e.command[:1] == (b"SUBSCRIBE",)]
    assert [e.reply for e in confirmations] == [
        [b"subscribe", b"news", 1],
        [b"subscribe", b"jobs", 2],
    ]


@real
def test_hello_3_answers_the_same_map(start_run, redis_server):
    run = start_run()
    through = run.client(protocol=3).execute_command("HELLO", "3")
    straight = redis_server.client(protocol=3).execute_command("HELLO", "3")
    assert isinstance(through, dict) and through.pop(b"id") != straight.pop(b"id")
    assert through == straight and through[b"proto"] == 3
    hello = [e for e in run.events if e.command == (b"HELLO", b"3")]
    assert len(hello) == 2 and isinstance(hello[-1].reply, dict)  # the handshake's and ours


@real
def test_keys_and_channels_land_under_the_prefix_and_replies_name_them_short(
    start_run, redis_server
):
    run = start_run()
    client = run.client()
    client.lpush("queue", "job")
    client.hset("job:1", "state", "new")
    client.set(b"bin\x00\xff", "v")
    client.xadd("events", {"a": "1"}, id="1-1")
    watcher = redis_server.client()
    pubsub = watcher.pubsub()
    pubsub.psubscribe(run.prefix + "*")  # the server's own view of the channel name
    assert pubsub.get_message(timeout=2)["type"] == "psubscribe"
    assert client.publish("alerts", "x") == 1
    assert pubsub.get_message(timeout=2)["channel"] == run.prefix.encode() + b"alerts"
    pubsub.close()
    prefix = run.prefix.encode()
    assert run.server_keys() == {
        prefix + b"queue",
        prefix + b"job:1",
        prefix + b"bin\x00\xff",
        prefix + b"events",
    }
    assert not watcher.exists("queue", "job:1", "events")
    assert client.xread({"events": 0}) == [[b"events", [(b"1-1", {b"a": b"1"})]]]
    assert client.blmpop(1, 2, "nothing", "queue", direction="LEFT") == [b"queue", [b"job"]]
    # A name the program already wrote in full is left as it is.
    assert client.get(prefix + b"bin\x00\xff") == b"v"


@pytest.fixture
def own_server(start_server) -> RedisServer:
    """A server of this test alone: its command statistics count only what the test sent."""
    server = start_server()
    return server


@real
def test_what_the_gate_refuses_never_reaches_the_server(start_run, own_server):
    run = start_run(own_server)
    checker = own_server.client()
    checker.set("precious", "keep me")
    maxmemory = checker.config_get("maxmemory")
    checker.config_resetstat()
    client = run.client()
    client.set("mine", "1")
    refused = {
        "FLUSHALL": client.flushall,
        "KEYS": lambda: client.keys("*"),
        "CONFIG SET": lambda: client.config_set("maxmemory", "1mb"),
        "SELECT": lambda: client.execute_command("SELECT", 1),
        "SORT": lambda: client.sort("mine", by="precious"),  # BY reaches keys by pattern
        "EVAL": lambda: client.eval("return redis.call('DEL', 'precious')", 0),
        "SCAN": client.scan,
    }
    for name, call in refused.items():
        with pytest.raises(redis.ResponseError, match=f"the tutor refused the command: {name}"):
            call()
    assert client.delete("precious") == 0  # the run's own `precious`, which does not exist
    assert checker.get("precious") == b"keep me"
    assert checker.config_get("maxmemory") == maxmemory
    stats = checker.info("commandstats")
    for command in ("flushall", "keys", "config|set", "select", "sort", "eval", "scan", "del"):
        assert f"cmdstat_{command}" not in stats or command == "del"
    assert stats["cmdstat_del"]["calls"] == 1  # the proxy's own DEL of the run's key
    # One placeholder per refusal (redis-py's handshake has three refused CLIENT commands too).
    assert stats["cmdstat_echo"]["rejected_calls"] == len([e for e in run.events if e.refused])
    assert len(run.events) - len(run.program_events()) == 4
    events = [e for e in run.program_events() if e.refused]
    assert [e.command[0] for e in events] == [
        b"FLUSHALL",
        b"KEYS",
        b"CONFIG",
        b"SELECT",
        b"SORT",
        b"EVAL",
        b"SCAN",
    ]
    assert all(e.reply is None and e.error is None for e in events)
    assert "erases every key" in events[0].refused


@real
def test_a_refusal_keeps_its_place_among_pipelined_replies_and_aborts_a_transaction(start_run):
    run = start_run()
    client = run.client()
    pipe = client.pipeline(transaction=False)
    pipe.set("a", 1).flushdb().get("a")
    first, refusal, last = pipe.execute(raise_on_error=False)
    assert first is True and last == b"1"
    assert isinstance(refusal, redis.ResponseError) and "FLUSHDB is refused" in str(refusal)
    pipe = client.pipeline()  # MULTI: a refused command discards the whole transaction
    pipe.set("b", 1).flushdb().set("c", 1)
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert client.exists("b", "c") == 0
    kinds = [(e.command[0], e.reply, e.refused is not None, e.error) for e in run.program_events()]
    assert kinds[:3] == [
        (b"SET", b"OK", False, None),
        (b"FLUSHDB", None, True, None),
        (b"GET", b"1", False, None),
    ]
    assert kinds[3:5] == [(b"MULTI", b"OK", False, None), (b"SET", b"QUEUED", False, None)]
    assert kinds[5][:3] == (b"FLUSHDB", None, True) and kinds[6][:2] == (b"SET", b"QUEUED")
    assert kinds[7][0] == b"EXEC" and kinds[7][3].startswith("EXECABORT")


def ordered(events: list[WireEvent]) -> None:
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert [e.t for e in events] == sorted(e.t for e in events)


@real
def test_events_pair_a_sync_clients_replies_with_its_commands(start_run):
    run = start_run()
    producer = run.client()
    producer.lpush("queue", "j1")
    producer.client_setname("producer")
    subscriber = run.client().pubsub()
    subscriber.subscribe("done")
    assert subscriber.get_message(timeout=2)["type"] == "subscribe"
    pipe = producer.pipeline(transaction=False)
    pipe.rpop("queue").rpop("queue").publish("done", "j1")
    assert pipe.execute() == [b"j1", None, 1]
    assert subscriber.get_message(timeout=2)["data"] == b"j1"
    with pytest.raises(redis.ResponseError):
        producer.flushall()
    subscriber.close()
    events = run.program_events()
    ordered(run.events)
    rows = [
        (e.connection, e.name, e.command, e.reply, e.push, e.refused is not None) for e in events
    ]
    p, s = events[0].connection, events[2].connection
    assert p != s
    # Each connection's events in the order of its replies; the two connections' replies arrive
    # as the server wrote them (the message may overtake the pipeline's replies).
    assert [r for r in rows if r[0] == p] == [
        (p, "", (b"LPUSH", b"queue", b"j1"), 1, False, False),
        (p, "", (b"CLIENT", b"SETNAME", b"producer"), b"OK", False, False),
        (p, "producer", (b"RPOP", b"queue"), b"j1", False, False),
        (p, "producer", (b"RPOP", b"queue"), None, False, False),
        (p, "producer", (b"PUBLISH", b"done", b"j1"), 1, False, False),
        (p, "producer", (b"FLUSHALL",), None, False, True),
    ]
    assert [r for r in rows if r[0] == s] == [
        (s, "", (b"SUBSCRIBE", b"done"), [b"subscribe", b"done", 1], False, False),
        (s, "", (), [b"message", b"done", b"j1"], True, False),
    ]


@real
def test_a_select_inside_a_transaction_takes_effect_at_exec(start_run, redis_server):
    run = start_run(databases=True)
    client = run.client(single_connection_client=True)  # one connection: MULTI by hand
    for command in (("MULTI",), ("SELECT", 3), ("DISCARD",), ("SET", "a", "0")):
        client.execute_command(*command)  # discarded: nothing changes
    for command in (("MULTI",), ("SELECT", 2), ("SET", "x", "1")):
        client.execute_command(*command)
    assert client.execute_command("EXEC") == [b"OK", b"OK"]
    client.set("y", "2")  # the connection is in database 2 now, and the proxy knows it
    dbs = {e.command: e.db for e in run.program_events() if e.command[:1] == (b"SET",)}
    assert dbs[(b"SET", b"a", b"0")] == 0
    assert dbs[(b"SET", b"y", b"2")] == 2
    in_two = redis_server.client(single_connection_client=True)
    in_two.execute_command("SELECT", 2)
    assert in_two.get(run.prefix + "y") == b"2"
    in_two.unlink(run.prefix + "x", run.prefix + "y")


@real
def test_events_of_an_asyncio_client(start_run):
    run = start_run()

    async def program() -> list[Any]:
        client = redis.asyncio.Redis.from_url(run.proxy.url, client_name="async-worker")
        pubsub = client.pubsub()
        await pubsub.subscribe("chat")
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
        replies = [
            await client.zadd("group", {"member": 1}),
            await client.publish("chat", b"\x81\xa1m"),  # msgpack, as Django Channels sends
            await client.bzpopmin("group", 1),
        ]
        message = await pubsub.get_message(timeout=2)
        replies.append(message["channel"] if message else None)
        await pubsub.aclose()
        await client.aclose()
        return replies

    assert asyncio.run(program()) == [1, 1, (b"group", b"member", 1.0), b"chat"]
    events = run.program_events()
    ordered(events)
    # Two connections (the pool's and the pubsub's), each named by redis.asyncio's handshake.
    subscriber, commands = sorted({e.connection for e in events})
    rows = {
        c: [(e.name, e.command[:1], e.push) for e in events if e.connection == c]
        for c in (subscriber, commands)
    }
    assert rows[subscriber] == [
        ("", (b"CLIENT",), False),  # CLIENT SETNAME async-worker
        ("async-worker", (b"SUBSCRIBE",), False),
        ("async-worker", (), True),
    ]
    assert rows[commands][1:] == [
        ("async-worker", (b"ZADD",), False),
        ("async-worker", (b"PUBLISH",), False),
        ("async-worker", (b"BZPOPMIN",), False),
    ]
    assert events[-1].reply == [b"group", b"member", 1.0]  # RESP3: the score is a double
    push = next(e for e in events if e.push)
    assert push.reply == [b"message", b"chat", b"\x81\xa1m"] and push.command == ()
    assert run.server_keys() == set()  # BZPOPMIN took the last member


@real
def test_events_of_redis_cli_in_a_subprocess(start_run):
    cli = shutil.which("redis-cli")
    if cli is None:
        missing("redis-cli is not installed (it comes with redis-server)")
    assert cli is not None
    run = start_run()
    script = (
        "CLIENT SETNAME cli\nRPUSH queue a b\nFLUSHALL\nLRANGE queue 0 -1\nAUTH wrong-password\n"
    )
    done = subprocess.run(
        [cli, "-p", str(run.proxy.port)],
        input=script,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert "the tutor refused the command: FLUSHALL is refused" in done.stdout + done.stderr
    assert "a\nb" in done.stdout
    events = run.events
    ordered(events)
    assert {e.connection for e in events} == {events[0].connection}  # one connection
    rows = [
        (e.name, e.command[0], e.reply, e.refused is not None)
        for e in events
        if e.command[:1] != (b"COMMAND",)
    ]
    assert rows == [
        ("", b"CLIENT", b"OK", False),
        ("cli", b"RPUSH", 2, False),
        ("cli", b"FLUSHALL", None, True),
        ("cli", b"LRANGE", [b"a", b"b"], False),
        ("cli", b"AUTH", b"OK", False),  # answered by the proxy: no password reaches the server
    ]


@real
def test_over_tls_with_a_password_clients_need_neither(start_server, tls_files, start_run):
    server = start_server(password="s3cret pass", tls=tls_files)
    run = start_run(server)
    client = run.client()
    assert client.rpush("queue", "a") == 1
    # A program that keeps the password of its own URL still connects; the password stays here.
    with_password = redis.Redis.from_url(run.proxy.url.replace("//", "//:wrong@"), protocol=3)
    assert with_password.lpop("queue") == b"a"
    assert redis.Redis(port=run.proxy.port, password="other", protocol=2).ping() is True
    assert any(e.command[:1] == (b"HELLO",) and b"AUTH" in e.command for e in run.events)
    checker = server.client()
    assert checker.info("commandstats").get("cmdstat_auth", {}).get("failed_calls", 0) == 0
    checker.set(run.namespace.key("left"), "x")
    assert client.get("left") == b"x"


@real
def test_a_unix_socket_upstream_with_a_db(start_server, start_run, tmp_path):
    path = tmp_path / "redis.sock"
    server = start_server("--unixsocket", str(path), "--unixsocketperm", "700")
    run = start_run(server, url=f"unix://{path}?db=3")
    assert run.client().set("k", "v") is True
    assert redis.Redis(port=server.port, db=3).get(run.namespace.key("k")) == b"v"
    assert redis.Redis(port=server.port, db=0).exists(run.namespace.key("k")) == 0


@real
def test_a_wrong_upstream_password_ends_the_client_connection_with_why(start_server, start_run):
    server = start_server(password="right")
    url = server.url.replace(":right@", ":wrong@")
    run = start_run(server, url=url)
    with pytest.raises(redis.RedisError, match="refused the user name or password"):
        run.client().ping()
    assert any("refused the user name or password" in (e.error or "") for e in run.events)
    assert run.proxy.problems and "wrong" not in " ".join(run.proxy.problems)


@real
def test_an_unreachable_server_and_a_server_that_goes_away(start_server, start_run):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    run = start_run(url=f"redis://127.0.0.1:{port}/0")
    with pytest.raises(redis.RedisError, match="cannot reach Redis"):
        run.client().ping()
    assert run.proxy.problems and "cannot reach Redis" in run.events[-1].error

    server = start_server()
    run = start_run(server)
    client = run.client()
    assert client.ping() is True
    result: list[Any] = []
    waiter = threading.Thread(target=lambda: result.append(_blocked_pop(run)))
    waiter.start()
    time.sleep(0.3)
    server.stop()
    waiter.join(10)
    assert not waiter.is_alive() and isinstance(result[0], redis.ConnectionError)
    assert any(e.error and e.command[:1] == (b"BRPOP",) for e in run.events)
    assert any(
        "closed the connection" in p or "lost the connection" in p for p in run.proxy.problems
    )


def _blocked_pop(run: Run) -> Any:
    return blocked_pop(run.proxy.url)


def blocked_pop(url: str) -> Any:
    """BRPOP with no timeout and no retry: its reply, or the error that ended it."""
    try:
        no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        return redis.Redis.from_url(url, retry=no_retry, socket_timeout=30).brpop("q", 0)
    except redis.RedisError as exc:
        return exc


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tutor-proxy")]


def client_count(server: RedisServer) -> int:
    return len(server.client().client_list())


@real
def test_close_joins_every_thread_and_closes_every_connection(start_server):
    server = start_server()
    before = client_count(server)
    events: list[WireEvent] = []
    prefix = Namespace.new().prefix
    proxy = RecordingProxy(server.url, prefix=prefix, gate=Gate(prefix), on_event=events.append)
    proxy.start()
    port = proxy.port
    idle = redis.Redis.from_url(proxy.url)
    idle.ping()
    subscriber = redis.Redis.from_url(proxy.url).pubsub()
    subscriber.subscribe("news")
    outcome: list[Any] = []
    blocked = threading.Thread(target=lambda: outcome.append(blocked_pop(proxy.url)))
    blocked.start()
    deadline = time.monotonic() + 5
    while client_count(server) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(proxy_threads()) == 4  # the acceptor and one per connection
    assert proxy.open_connections == 3
    assert client_count(server) == before + 3
    started = time.monotonic()
    proxy.close()
    assert time.monotonic() - started < 2
    assert proxy_threads() == [] and proxy.open_connections == 0
    blocked.join(5)
    assert isinstance(outcome[0], redis.ConnectionError)  # the client saw its connection end
    deadline = time.monotonic() + 5
    while client_count(server) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client_count(server) == before
    with pytest.raises(redis.ConnectionError):
        no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        redis.Redis(port=port, retry=no_retry).ping()  # nothing listens any more
    assert proxy.problems == []
    assert not any(e.error for e in events)  # closing is not a failure of any connection


@real
def test_unsubscribing_from_everything_pairs_one_reply_per_subscription(start_run):
    run = start_run()
    commands = [
        (b"SUBSCRIBE", b"a", b"b"),
        (b"PSUBSCRIBE", b"p*"),
        (b"UNSUBSCRIBE",),  # two replies: a and b
        (b"PUNSUBSCRIBE",),  # one: p*
        (b"UNSUBSCRIBE",),  # none held: one reply with no channel
        (b"PING",),
    ]
    replies = raw_exchange(run.proxy.port, commands, replies_due=8)
    assert replies[-1] == b"+PONG\r\n"
    rows = [(e.command, e.reply) for e in run.events]
    # UNSUBSCRIBE alone: one confirmation per channel held, in an order of the server's own.
    first, second = rows[3:5]
    assert first[0] == second[0] == (b"UNSUBSCRIBE",)
    assert {first[1][1], second[1][1]} == {b"a", b"b"} and [first[1][2], second[1][2]] == [2, 1]
    assert rows[:3] + rows[5:] == [
        ((b"SUBSCRIBE", b"a", b"b"), [b"subscribe", b"a", 1]),
        ((b"SUBSCRIBE", b"a", b"b"), [b"subscribe", b"b", 2]),
        ((b"PSUBSCRIBE", b"p*"), [b"psubscribe", b"p*", 3]),
        ((b"PUNSUBSCRIBE",), [b"punsubscribe", b"p*", 0]),
        ((b"UNSUBSCRIBE",), [b"unsubscribe", None, 0]),
        ((b"PING",), b"PONG"),
    ]


@real
def test_a_client_that_pipelines_without_reading_does_not_stall_the_proxy(start_run):
    run = start_run()
    value = b"v" * 100
    count = 60_000  # about 9 MB of commands and 0.3 MB of replies, more than any socket buffer
    payload = b"".join(encode((b"SET", b"k%d" % (i % 10), value)) for i in range(count))
    payload += encode((b"GET", b"k1"))
    with socket.create_connection(("127.0.0.1", run.proxy.port), timeout=30) as sock:
        sock.sendall(payload)  # all of it before reading a byte
        reader = hiredis.Reader()
        replies = 0
        last: Any = None
        while replies < count + 1:
            data = sock.recv(1 << 16)
            assert data
            reader.feed(data)
            while (reply := reader.gets()) is not False:
                replies += 1
                last = reply
    assert last == value
    assert len(run.events) == count + 1 and run.events[-1].reply == value


@real
def test_a_failing_recorder_and_odd_clients_do_not_break_the_proxy(start_run):
    calls = []

    def recorder(event: WireEvent) -> None:
        calls.append(event)
        raise RuntimeError("a recorder's bug")

    run = start_run(on_event=recorder)
    client = run.client()
    assert client.rpush("q", "a") == 1 and client.lrange("q", 0, -1) == [b"a"]
    assert calls and "a recorder's bug" in run.proxy.problems[0]
    # Inline commands (telnet) are not RESP: the client is told so and its connection ends.
    with socket.create_connection(("127.0.0.1", run.proxy.port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        answer = sock.recv(1000)
        assert answer.startswith(b"-ERR Protocol error") and sock.recv(1000) == b""
    # QUIT ends a connection without a complaint.
    assert raw_exchange(run.proxy.port, [(b"QUIT",)]) == [b"+OK\r\n"]
    assert client.ping() is True
    assert len(run.proxy.problems) == len([p for p in run.proxy.problems if "recorder" in p])


# -- the RESP stream, without a server --------------------------------------------------------


def resp(value: Any, resp3: bool = True) -> bytes:
    """`value` as a server would send it (RESP3 types where `resp3`)."""
    if value is None:
        return b"_\r\n" if resp3 else b"$-1\r\n"
    if isinstance(value, bool):
        return b"#t\r\n" if value else b"#f\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, float):
        return b",%r\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, str):
        return b"+%s\r\n" % value.encode()
    if isinstance(value, dict):
        return b"%%%d\r\n" % len(value) + b"".join(resp(k) + resp(v) for k, v in value.items())
    if isinstance(value, frozenset):
        return b"~%d\r\n" % len(value) + b"".join(resp(v) for v in sorted(value))
    if isinstance(value, tuple):  # a push
        return b">%d\r\n" % len(value) + b"".join(resp(v) for v in value)
    return b"*%d\r\n" % len(value) + b"".join(resp(v) for v in value)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "bytes", "simple", "null", "float", "bool"]
    if depth < 3:
        kinds += ["array", "map", "set", "push"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.randint(-(10**12), 10**12)
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, 300])))
    if kind == "simple":
        return rng.choice(["OK", "QUEUED", "PONG"])
    if kind == "null":
        return None
    if kind == "float":
        return rng.random()
    if kind == "bool":
        return rng.random() < 0.5
    items = [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "map":
        return {b"k%d" % i: v for i, v in enumerate(items)}
    if kind == "set":
        return frozenset(b"m%d" % i for i in range(len(items)))
    return tuple(items) if kind == "push" else items


def test_the_framer_cuts_whole_replies_however_the_bytes_arrive():
    rng = random.Random(15)
    replies = [resp(random_value(rng)) for _ in range(300)]
    replies += [
        b"$-1\r\n",
        b"*-1\r\n",
        b"*0\r\n",
        b"-ERR x\r\n",
        b"(123456789012345678901234567890\r\n",
    ]
    replies += [b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", b"=8\r\ntxt:ab\r\n\r\n"]
    stream = b"".join(replies)
    for _ in range(5):
        framer = ReplyFramer()
        cut: list[bytes] = []
        position = 0
        while position < len(stream):
            step = rng.choice([1, 2, 7, 64, 4096])
            framer.feed(stream[position : position + step])
            position += step
            while (span := framer.next_reply()) is not None:
                cut.append(bytes(framer.buffer[span[0] : span[1]]))
            framer.compact()
        assert cut == replies


def test_shortening_takes_the_prefix_off_names_and_nothing_else():
    prefix = b"tutor:{0a1b2c3d}:"
    reply = resp([prefix + b"queue", [b"x" + prefix, prefix, {prefix + b"f": prefix + b"v"}], 7])
    reply += b""
    assert shorten(reply, prefix) == resp([b"queue", [b"x" + prefix, prefix, {b"f": b"v"}], 7])
    assert shorten(b"+%sname\r\n" % prefix, prefix) == b"+name\r\n"
    assert shorten(b"$-1\r\n", prefix) == b"$-1\r\n"
    untouched = resp([b"job", 1.5, None])
    assert shorten(untouched, prefix) is untouched
    # A value that carries the prefix's bytes inside it keeps them: lengths steer the reading.
    inner = resp([b"$17\r\n" + prefix + b"\r\n"])
    assert shorten(inner, prefix) == inner


@pytest.fixture
def session() -> Iterator[tuple[ClientSession, list[WireEvent]]]:
    """A client connection's pairing without sockets: commands and replies fed by hand."""
    prefix = "tutor:{0a1b2c3d}:"
    events: list[WireEvent] = []
    proxy = RecordingProxy(
        "redis://127.0.0.1:1/0", prefix=prefix, gate=Gate(prefix), on_event=events.append
    )
    near, far = socket.socketpair()
    yield ClientSession(proxy, 1, near), events
    near.close()
    far.close()
    proxy.close()


def test_a_message_that_overtakes_a_reply_is_a_push_on_resp2(session):
    session, events = session
    p = b"tutor:{0a1b2c3d}:"
    session.commands_in(encode((b"SUBSCRIBE", b"a")))
    session.replies_in(resp([b"subscribe", p + b"a", 1], resp3=False))
    session.commands_in(encode((b"SUBSCRIBE", b"b")) + encode((b"PING",)))
    assert session.to_server.endswith(encode((b"SUBSCRIBE", p + b"b")) + encode((b"PING",)))
    session.replies_in(resp([b"message", p + b"a", b"m1"], resp3=False))  # before the reply
    session.replies_in(resp([b"subscribe", p + b"b", 2], resp3=False))
    session.replies_in(resp([b"message", p + b"b", b"m2"], resp3=False))
    session.replies_in(resp([b"pong", b""], resp3=False))
    rows = [(e.command, e.reply, e.push) for e in events]
    assert rows == [
        ((b"SUBSCRIBE", b"a"), [b"subscribe", b"a", 1], False),
        ((), [b"message", b"a", b"m1"], True),
        ((b"SUBSCRIBE", b"b"), [b"subscribe", b"b", 2], False),
        ((), [b"message", b"b", b"m2"], True),
        ((b"PING",), [b"pong", b""], False),
    ]
    assert session.to_client.count(b"$1\r\na\r\n") == 2  # the channel, short, in both


def test_resp3_pushes_never_take_a_commands_reply(session):
    session, events = session
    session.commands_in(encode((b"HELLO", b"3", b"AUTH", b"user", b"pw", b"SETNAME", b"w")))
    assert bytes(session.to_server) == encode((b"HELLO", b"3", b"SETNAME", b"w"))  # no password
    session.replies_in(resp({b"proto": 3}))
    session.commands_in(encode((b"SUBSCRIBE", b"c")))
    session.replies_in(resp((b"subscribe", b"tutor:{0a1b2c3d}:c", 1)))  # RESP3: a push
    # Subscribed, a RESP3 connection still runs commands: an array is a reply, never a message.
    session.commands_in(encode((b"LRANGE", b"l", b"0", b"-1")) + encode((b"GET", b"k")))
    session.replies_in(resp((b"message", b"tutor:{0a1b2c3d}:c", b"m")))
    session.replies_in(resp([b"message", b"x", b"y"]))  # an array: LRANGE's own reply
    session.replies_in(resp((b"sunsubscribe", b"tutor:{0a1b2c3d}:s", 0)))  # unasked: a push
    session.replies_in(resp(None))
    rows = [(e.name, e.command[:1], e.reply, e.push) for e in events]
    assert rows == [
        ("", (b"HELLO",), {b"proto": 3}, False),
        ("w", (b"SUBSCRIBE",), [b"subscribe", b"c", 1], False),
        ("w", (), [b"message", b"c", b"m"], True),
        ("w", (b"LRANGE",), [b"message", b"x", b"y"], False),
        ("w", (), [b"sunsubscribe", b"s", 0], True),
        ("w", (b"GET",), None, False),
    ]
    assert session.pending == deque()
