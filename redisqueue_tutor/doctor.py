"""`tutor doctor`: check the chosen backend the way a lesson will use it, before class.

Each check returns a Check (what was tried, whether it worked, one line of detail); a failed check
skips the ones that depend on it. Nothing here prints: the command renders the Diagnosis.
Everything the checks write lives in a fresh run namespace and is removed at the end, exactly as
for a lesson (the doctor goes through the same start() and close()).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from redisqueue_tutor.backend import (
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


CHECKS = ("connect", "auth", "server", "namespace", "lists", "pub/sub", "latency")


def diagnose(spec: str | None) -> Diagnosis:
    """Run every check against `spec` ('fake' or a URL); never raises for a Redis problem."""
    shown = redact(spec or "fake")
    try:
        backend = open_backend(spec)
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
    reaped = len(real.reaped) if real else 0
    others = f"; removed {counted(reaped, 'dead run')} left by killed tutors" if reaped else ""
    yield Check("server", True, f"{info} ({info.mode}, {info.role}){others}")

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

    # lists: the commands the queue lessons use
    source, target = namespace.key("doctor-q"), namespace.key("doctor-done")
    try:
        client.lpush(source, "task1", "task2")
        client.lmove(source, target, "RIGHT", "LEFT")
        popped = client.rpop(source), client.brpop([target], timeout=0.1)
        client.unlink(source, target)
    except redis.RedisError as exc:
        yield Check("lists", False, explain(exc) or str(exc))
        return
    if popped != ("task2", (target, "task1")):
        yield Check("lists", False, f"unexpected replies {popped!r}")
        return
    yield Check("lists", True, "LPUSH, LMOVE, RPOP and BRPOP work")

    # pub/sub: our own subscriber hears our own message on a namespaced channel
    channel = namespace.key("doctor-channel")
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel)
        started = time.perf_counter()
        receivers = backend.observer.publish(channel, "ping")
        heard: dict[str, Any] | None = None
        while heard is None and time.perf_counter() - started < PUBSUB_WAIT:
            heard = pubsub.get_message(timeout=0.05)
        elapsed = (time.perf_counter() - started) * 1000
    except redis.RedisError as exc:
        yield Check("pub/sub", False, explain(exc) or str(exc))
        return
    finally:
        pubsub.close()
    if heard is None or heard.get("data") != "ping":
        yield Check("pub/sub", False, f"no message came back within {PUBSUB_WAIT} s")
        return
    yield Check("pub/sub", True, f"{receivers} subscriber heard it, round trip {elapsed:.1f} ms")

    # latency: what a learner will feel on every step
    times = []
    for _ in range(20):
        started = time.perf_counter()
        backend.observer.ping()
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    verdict = "fine for lessons" if median < 50 else "slow: every step will lag"
    yield Check("latency", median < 250, f"PING median {median:.2f} ms ({verdict})")
