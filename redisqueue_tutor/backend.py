"""Where the commands go: the embedded fakeredis server, or a real Redis the user names.

Every client of a run comes from one Backend, so they all talk to the same server (two bare
`FakeRedis()` would not share data), all record into the run's CommandLog, and all keys and channels
live under the run's namespace. Any redis-py client can be made to go through this seam by building
it on `backend.connection_pool(lane)`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redisqueue_tutor.recorder import CommandLog, RecordingMixin

DEFAULT_BACKEND = "fake"
ENV_REDIS_URL = "TUTOR_REDIS_URL"


class BackendError(Exception):
    """A backend problem explained in one line: what happened and what to try."""


@dataclass(frozen=True)
class Namespace:
    """Prefix for every key and channel of one run, e.g. ``tutor:{3f9a0c1e}:queue``.

    The braces are a Redis Cluster hash tag: all keys of a run hash to one slot, so multi-key
    commands such as LMOVE work on a cluster too.
    """

    prefix: str

    @classmethod
    def new(cls) -> Namespace:
        return cls(f"tutor:{{{secrets.token_hex(4)}}}:")

    def key(self, short: str) -> str:
        return self.prefix + short

    def short(self, name: str) -> str:
        return name.removeprefix(self.prefix)

    @property
    def pattern(self) -> str:
        # SCAN MATCH treats braces literally, but [ ] * ? \ are special: the prefix contains none.
        return self.prefix + "*"


class Backend:
    """Base for both backends: clients that record, an observer that does not, cleanup."""

    kind = "base"

    def __init__(self, namespace: Namespace | None = None) -> None:
        self.namespace = namespace or Namespace.new()
        self.log = CommandLog(shorten=self.namespace.short)
        self._pools: list[redis.ConnectionPool] = []
        self._observer: redis.Redis | None = None

    # -- what subclasses provide -------------------------------------------------------------
    def _pool_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # -- the seam ----------------------------------------------------------------------------
    def connection_pool(
        self, lane: str, *, decode_responses: bool = True, record: bool = True
    ) -> redis.ConnectionPool:
        kwargs = self._pool_kwargs()
        if record:
            kwargs.update(command_log=self.log, lane=lane)
        pool = redis.ConnectionPool(
            connection_class=self._connection_class(record),
            decode_responses=decode_responses,
            **kwargs,
        )
        self._pools.append(pool)
        return pool

    def client(self, lane: str, *, decode_responses: bool = True) -> redis.Redis:
        """A client whose every command is recorded under `lane`."""
        return redis.Redis(
            connection_pool=self.connection_pool(lane, decode_responses=decode_responses)
        )

    @property
    def observer(self) -> redis.Redis:
        """A client that reads state for the tables; its commands are not part of the lesson."""
        if self._observer is None:
            self._observer = redis.Redis(
                connection_pool=self.connection_pool("observer", record=False)
            )
        return self._observer

    def cleanup(self) -> int:
        """Remove every key of this run's namespace; returns how many were removed."""
        removed = 0
        observer = self.observer
        batch: list[str] = []
        for name in observer.scan_iter(match=self.namespace.pattern, count=500):
            batch.append(name)
            if len(batch) >= 500:
                removed += observer.unlink(*batch)
                batch.clear()
        if batch:
            removed += observer.unlink(*batch)
        return removed

    def close(self) -> None:
        try:
            self.cleanup()
        finally:
            for pool in self._pools:
                pool.disconnect()
            self._pools.clear()
            self._observer = None


def _fake_connection_classes() -> tuple[type, type]:
    from fakeredis import FakeRedisConnection

    class RecordingFake(RecordingMixin, FakeRedisConnection):
        pass

    return FakeRedisConnection, RecordingFake


class FakeBackend(Backend):
    """An in-process fakeredis server, one per run, shared by all its clients."""

    kind = "fake"

    def __init__(self, namespace: Namespace | None = None) -> None:
        import fakeredis

        super().__init__(namespace)
        self.server = fakeredis.FakeServer()
        self._plain, self._recording = _fake_connection_classes()

    def _pool_kwargs(self) -> dict[str, Any]:
        return {"server": self.server}

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        return self._recording if recording else self._plain

    def describe(self) -> str:
        return "embedded fakeredis (in-process, nothing to install)"


class RecordingConnection(RecordingMixin, redis.Connection):
    pass


class RecordingSSLConnection(RecordingMixin, redis.SSLConnection):
    pass


class RedisBackend(Backend):
    """A real Redis server named by a redis:// or rediss:// URL."""

    kind = "redis"

    def __init__(self, url: str, namespace: Namespace | None = None) -> None:
        super().__init__(namespace)
        self.url = url
        try:
            parsed = redis.connection.parse_url(url)
        except ValueError as exc:
            raise BackendError(
                f"{url!r} is not a Redis URL ({exc}); use redis://host:port/db"
            ) from None
        self._ssl = url.startswith("rediss://")
        self._url_kwargs = parsed
        self._url_kwargs.pop("connection_class", None)

    def _pool_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self._url_kwargs)
        # redis-py 8 retries 10 times with backoff and RE-SENDS blocking commands on a timeout; a
        # lesson must fail fast and never send a command twice.
        kwargs.setdefault("socket_connect_timeout", 3)
        kwargs.setdefault("socket_timeout", 30)
        kwargs["retry"] = Retry(NoBackoff(), 0)
        return kwargs

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        if self._ssl:
            return RecordingSSLConnection if recording else redis.SSLConnection
        return RecordingConnection if recording else redis.Connection

    def describe(self) -> str:
        kwargs = self._url_kwargs
        host = kwargs.get("host", "localhost")
        port = kwargs.get("port", 6379)
        scheme = "rediss" if self._ssl else "redis"
        return f"{scheme}://{host}:{port}/{kwargs.get('db', 0)}"


def open_backend(spec: str | None) -> Backend:
    """`fake` (the default) or a redis:// / rediss:// URL."""
    if spec is None or spec == DEFAULT_BACKEND:
        return FakeBackend()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisBackend(spec)
    raise BackendError(
        f"unknown backend {spec!r}: use 'fake' or a URL such as redis://localhost:6379/0"
    )


@contextmanager
def running(spec: str | None) -> Iterator[Backend]:
    """Open a backend and always clean up what the run created, also on Ctrl-C or an error."""
    backend = open_backend(spec)
    try:
        yield backend
    finally:
        # If the server went away there is nothing more we can remove now.
        with suppress(redis.RedisError):
            backend.close()


def explain(exc: BaseException) -> str | None:
    """One line for a Redis failure: what happened and what to try. None if it is not one."""
    from redis import exceptions as e

    fallback = "run with --backend fake, or check that redis-server is running and the URL is right"
    if isinstance(exc, e.AuthenticationError) or (
        isinstance(exc, e.ResponseError) and "NOAUTH" in str(exc)
    ):
        return (
            f"Redis refused the password ({exc}); put it in the URL: redis://:PASSWORD@host:6379/0"
        )
    if isinstance(exc, e.TimeoutError):
        return f"Redis did not answer in time ({exc}); {fallback}"
    if isinstance(exc, e.ConnectionError):
        return f"cannot reach Redis ({exc}); {fallback}"
    if isinstance(exc, e.ReadOnlyError):
        return "this Redis is a read-only replica; point the tutor at the primary"
    if isinstance(exc, e.NoPermissionError):
        return f"this Redis user may not do that ({exc}); see the README on ACL users for classes"
    if isinstance(exc, e.RedisError):
        return f"Redis error: {exc}"
    return None
