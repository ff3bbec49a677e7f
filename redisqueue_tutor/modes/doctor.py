"""`tutor doctor`: check the chosen backend the way a lesson will use it, before class.

Each check returns a Check (what was tried, whether it worked, one line of detail); a failed check
skips the ones that depend on it. Nothing here prints: the command renders the Diagnosis.
Everything the checks write lives in a fresh run namespace and is removed at the end, exactly as
for a lesson (the doctor goes through the same start() and close()).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis

from redisqueue_tutor.run.backend import (
    Backend,
    BackendError,
    RedisBackend,
    connect_failure,
    explain,
    open_backend,
    redact,
)
from redisqueue_tutor.wording import counted

PUBSUB_WAIT = 2.0  # seconds for a published message to come back to our own subscriber
FINE_MS = 50.0  # a PING median below this keeps stepping brisk
SLOW_MS = 250.0  # from this median on, the latency check fails


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped, because an earlier check failed
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    backend: str  # as the user named it, without the password
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


CHECKS = ("connect", "auth", "server", "namespace", "lists", "streams", "pub/sub", "latency")


def diagnose(
    spec: str | None, *, opener: Callable[[str | None], Backend] = open_backend
) -> Diagnosis:
    """Run every check against `spec` ('fake' or a URL); never raises for a Redis problem."""
    shown = redact(spec or "fake")
    try:
        backend = opener(spec)
    except BackendError as exc:
        return Diagnosis(shown, _skipped_after(Check("connect", False, str(exc))))
    checks: list[Check] = []
    try:
        for check in _checks(backend):
            checks.append(check)
            if not check.ok:
                break
    finally:
        backend.close()
    done = {c.name for c in checks}
    checks += [Check(name, None, "skipped") for name in CHECKS if name not in done]
    return Diagnosis(shown, tuple(checks))


def _skipped_after(failed: Check) -> tuple[Check, ...]:
    later = CHECKS[CHECKS.index(failed.name) + 1 :]
    return (failed, *(Check(name, None, "skipped") for name in later))


def _checks(backend: Backend) -> Iterator[Check]:
    real = backend if isinstance(backend, RedisBackend) else None

    # connect and auth: one PING on a fresh connection (the handshake authenticates)
    try:
        backend.observer.ping()
    except redis.AuthenticationError as exc:
        assert real is not None  # fakeredis has no passwords
        yield Check("connect", True, f"reached {real.address}")
        yield Check("auth", False, connect_failure(exc, real))
        return
    except redis.RedisError as exc:
        message = connect_failure(exc, real) if real else (explain(exc) or str(exc))
        yield Check("connect", False, message)
        return
    if real is None:
        yield Check("connect", True, "embedded fakeredis, in this process")
        yield Check("auth", True, "none needed")
    else:
        yield Check("connect", True, f"reached {real.address}{' over TLS' if real.tls else ''}")
        user, password = real.credentials
        if password:
            who = f"user {user!r}" if user else "the default user"
            yield Check("auth", True, f"password accepted for {who}")
        else:
            yield Check("auth", True, "no password needed")

    # server: what it is, and whether the tutor may use it (refuses replicas, clusters, old ones)
    try:
        info = backend.start()
    except BackendError as exc:
        yield Check("server", False, str(exc))
        return
    yield Check("server", True, f"{info} ({info.mode}, {info.role})")

    # namespace: write, read and remove a key of our own
    namespace = backend.namespace
    probe = namespace.key("doctor")
    client = backend.client("doctor")
    try:
        client.set(probe, "ok")
        read = client.get(probe)
        client.unlink(probe)
    except redis.RedisError as exc:
        yield Check("namespace", False, explain(exc) or str(exc))
        return
    if read != "ok":
        yield Check("namespace", False, f"wrote 'ok' but read back {read!r}")
        return
    yield Check("namespace", True, f"may write, read and remove keys under {namespace.prefix}")

    # The commands every lesson sends, tried the way the lessons send them (a test keeps this
    # list complete: tests/test_doctor.py runs every lesson and compares).
    for check in (_lists, _streams, _pubsub):
        result = check(backend, client)
        yield result
        if not result.ok:
            return

    # latency: what a learner will feel on every step
    times = []
    for _ in range(20):
        started = time.perf_counter()
        backend.observer.ping()
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    verdict = "fine for lessons" if median < FINE_MS else "slow: every step will lag"
    yield Check("latency", median < SLOW_MS, f"PING median {median:.2f} ms ({verdict})")


def _failed(name: str, exc: redis.RedisError) -> Check:
    return Check(name, False, explain(exc) or str(exc))


def _lists(backend: Backend, client: redis.Redis) -> Check:
    """The queue lessons: pushes and pops at both ends, LMOVE, LREM, LRANGE and BRPOP."""
    namespace = backend.namespace
    source, target = namespace.key("doctor-q"), namespace.key("doctor-done")
    try:
        client.lpush(source, "task1", "task2")
        client.rpush(source, "task3")
        moved = client.lmove(source, target, "RIGHT", "LEFT")
        replies = (
            moved,
            client.lrange(source, 0, -1),
            client.lpop(source),
            client.rpop(source),
            client.brpop([target], timeout=0.1),
            client.lpush(target, "x"),
            client.lrem(target, 1, "x"),
        )
        client.unlink(source, target)
    except redis.RedisError as exc:
        return _failed("lists", exc)
    expected = ("task3", ["task2", "task1"], "task2", "task1", (target, "task3"), 1, 1)
    if replies != expected:
        return Check("lists", False, f"unexpected replies {replies!r}")
    return Check("lists", True, "LPUSH, RPUSH, LPOP, RPOP, LMOVE, LRANGE, LREM and BRPOP work")


def _streams(backend: Backend, client: redis.Redis) -> Check:
    """The streams lessons: a consumer group, reading, acknowledging, claiming, replaying."""
    stream, group = backend.namespace.key("doctor-stream"), "doctor"
    try:
        added = [
            client.xadd(stream, {"task": name}, id=f"1-{n}") for n, name in ((1, "a"), (2, "b"))
        ]
        client.xgroup_create(stream, group, id="0")
        read: Any = client.xreadgroup(group, "c1", {stream: ">"}, count=2, block=100)
        acked = client.xack(stream, group, "1-1")
        pending: Any = client.xpending(stream, group)
        claimed: Any = client.xautoclaim(stream, group, "c2", min_idle_time=0, start_id="0-0")
        entries: Any = client.xrange(stream, "-", "+")
        client.xgroup_destroy(stream, group)
        client.unlink(stream)
    except redis.RedisError as exc:
        return _failed("streams", exc)
    ids = {
        "XADD": added,
        "XREADGROUP": [entry[0] for _name, batch in read for entry in batch] if read else [],
        "XACK": acked,
        "XPENDING": pending.get("pending") if isinstance(pending, dict) else pending,
        "XAUTOCLAIM": [entry[0] for entry in claimed[1]] if claimed else [],
        "XRANGE": [entry[0] for entry in entries],
    }
    expected = {
        "XADD": ["1-1", "1-2"],
        "XREADGROUP": ["1-1", "1-2"],
        "XACK": 1,
        "XPENDING": 1,
        "XAUTOCLAIM": ["1-2"],
        "XRANGE": ["1-1", "1-2"],
    }
    wrong = {name: got for name, got in ids.items() if got != expected[name]}
    if wrong:
        return Check("streams", False, f"unexpected replies {wrong!r}")
    return Check(
        "streams", True, "XADD, XGROUP, XREADGROUP, XACK, XPENDING, XAUTOCLAIM and XRANGE work"
    )


def _pubsub(backend: Backend, client: redis.Redis) -> Check:
    """The pub/sub lessons: a channel and a pattern subscriber both hear one PUBLISH."""
    channel = backend.namespace.key("doctor-channel")
    pattern = backend.namespace.key("doctor-*")
    pubsub = client.pubsub()
    try:
        pubsub.subscribe(channel)
        pubsub.psubscribe(pattern)
        confirmed = 0
        deadline = time.perf_counter() + PUBSUB_WAIT
        while confirmed < 2 and time.perf_counter() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message is not None and message["type"] in ("subscribe", "psubscribe"):
                confirmed += 1
        if confirmed < 2:
            return Check("pub/sub", False, f"no subscription confirmed within {PUBSUB_WAIT} s")
        started = time.perf_counter()
        receivers = client.publish(channel, "ping")
        heard: list[dict[str, Any]] = []
        while len(heard) < 2 and time.perf_counter() - started < PUBSUB_WAIT:
            message = pubsub.get_message(timeout=0.05)
            if message is not None:
                heard.append(message)
        elapsed = (time.perf_counter() - started) * 1000
        pubsub.unsubscribe()
        pubsub.punsubscribe()
        deadline = time.perf_counter() + PUBSUB_WAIT
        while pubsub.subscribed and time.perf_counter() < deadline:
            pubsub.get_message(timeout=0.05)  # the confirmations: UNSUBSCRIBE works too
    except redis.RedisError as exc:
        return _failed("pub/sub", exc)
    finally:
        pubsub.close()
    kinds = sorted(str(message["type"]) for message in heard if message.get("data") == "ping")
    if kinds != ["message", "pmessage"]:
        return Check(
            "pub/sub",
            False,
            f"PUBLISH reached {counted(receivers, 'subscriber')}, but within {PUBSUB_WAIT} s"
            f" {counted(len(kinds), 'message')} came back of the 2 expected (a channel and a"
            " pattern subscriber)",
        )
    outside = ""
    if receivers > 2:  # Redis counted subscribers that are not this check's own
        outside = (
            f"; {counted(receivers - 2, 'other client')} of this server also"
            f" {'hears' if receivers == 3 else 'hear'} every channel (a PSUBSCRIBE * such as"
            " RedisInsight's): the lessons name it where PUBLISH counts it"
        )
    return Check(
        "pub/sub",
        True,
        f"SUBSCRIBE and PSUBSCRIBE both heard one PUBLISH ({counted(receivers, 'receiver')}),"
        f" round trip {elapsed:.1f} ms{outside}",
    )
