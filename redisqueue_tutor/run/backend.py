"""Where the commands go: the embedded fakeredis server, or a real Redis the user names.

Every client of a run comes from one Backend, so they all talk to the same server (two bare
`FakeRedis()` would not share data), all record into the run's CommandLog, and all keys and channels
live under the run's namespace. Any redis-py client can be made to go through this seam by building
it on `backend.connection_pool(lane)`.

A real server may be somebody else's, so a run on it is careful:

- Before the first step `start()` says HELLO and refuses what the tutor cannot use safely: a replica,
  a cluster node, a Sentinel, a server older than 6.2.
- Everything the run writes lives under its own namespace, ``tutor:{8 hex}:``; on exit only that
  namespace is removed (SCAN MATCH + UNLINK). Never FLUSHDB, FLUSHALL, KEYS, MONITOR or CONFIG SET.
- Every command of the run passes one gate (gate.py): keys and channels must be the run's own,
  and nothing that reaches the whole server is sent.
- Every key a run creates carries an expiry (KEY_TTL) that a heartbeat thread refreshes while the
  run lives. A run that dies without cleaning up (SIGKILL, a power cut, a stalled server) leaves
  nothing for long: its keys expire by themselves. No tutor ever deletes another run's keys, so
  nobody can make one delete keys by naming them, and nothing needs to be trusted on the server.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redisqueue_tutor.keyspace.blocking import _word, blocking_seconds
from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.keyspace.handshake import housekeeping
from redisqueue_tutor.run.connections import (
    COMMAND_TIMEOUT,
    CONNECTION_CLASSES,
    _fake_connection_classes,
)
from redisqueue_tutor.run.faults import ENV_REDIS_URL, BackendError, connect_failure, explain
from redisqueue_tutor.run.recorder import CommandLog
from redisqueue_tutor.run.records import as_read
from redisqueue_tutor.run.server import (
    MIN_VERSION,
    Namespace,
    ServerInfo,
    _dotted,
    machine_identity,
    redact,
    refuse_unclear_url,
    refuse_unsuitable,
)
from redisqueue_tutor.run.signals import Terminated, hold_signals, signals_as_exit

if TYPE_CHECKING:
    from redisqueue_tutor.run.fakeserver import ServerEvent

DEFAULT_BACKEND = "fake"

CONNECT_TIMEOUT = 2.0  # seconds for TCP connect AND the TLS handshake
KEY_TTL = 900  # seconds every key of a run lives unless the run, still alive, refreshes it
HEARTBEAT_SECONDS = 60
UNLINK_BATCH = 500  # keys removed by one UNLINK when a run cleans up


class Backend:
    """Base for both backends: clients that record, an observer that does not, cleanup."""

    kind = "base"
    # Whether scripts (EVAL, EVALSHA) pass the gate: a script can compute keys the gate cannot
    # see, so only on a private server where nothing else lives (the embedded one).
    runs_scripts = False

    def __init__(self, namespace: Namespace | None = None) -> None:
        self.namespace = namespace or Namespace.new()
        self.gate = Gate(self.namespace.prefix, scripts=self.runs_scripts)
        self.internal_gate = Gate(self.namespace.prefix, internal=True)
        self.log = CommandLog(shorten=self.namespace.short)
        self.server: Any = None
        self.info: ServerInfo | None = None
        self.started = False
        self._pools: list[redis.ConnectionPool] = []
        self._observer: redis.Redis | None = None
        # Databases other than the default one that the run's clients use (a traced program's
        # Redis(db=2)): cleaned and kept alive like the default one.
        self.databases: set[int] = set()
        self._observers: dict[int, redis.Redis] = {}

    # -- what subclasses provide -------------------------------------------------------------
    def _pool_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        raise NotImplementedError

    def _lane_kwargs(self, lane: str, *, record: bool, decode_responses: bool) -> dict[str, Any]:
        """How a pool's connections say which lane they are: here, the recorder's kwargs."""
        return {"command_log": self.log, "lane": lane} if record else {}

    def connect(self) -> ServerInfo:
        """Reach the server, check that the tutor may use it, and say what it is."""
        raise NotImplementedError

    def start(self) -> ServerInfo:
        """Everything before the first step: connect and check. `running()` calls it."""
        info = self.connect()
        self.started = True
        return info

    def describe(self) -> str:
        """One line for the header: the server and, on a real one, the run's namespace."""
        raise NotImplementedError

    @property
    def default_db(self) -> int:
        """The database the run uses unless a client names another."""
        return 0

    def use_database(self, db: int) -> None:
        """A client of the run uses database `db` too: clean it and keep it alive as well."""
        if db != self.default_db:
            self.databases.add(db)

    def observer_for(self, db: int) -> redis.Redis:
        """The observer of another database (the default one's is `observer`)."""
        if db == self.default_db:
            return self.observer
        if db not in self._observers:
            self.use_database(db)
            self._observers[db] = redis.Redis(
                connection_pool=self.connection_pool("observer", record=False, db=db)
            )
        return self._observers[db]

    # -- the seam ----------------------------------------------------------------------------
    def connection_pool(
        self,
        lane: str,
        *,
        decode_responses: bool = True,
        record: bool = True,
        db: int | None = None,
    ) -> redis.ConnectionPool:
        kwargs = self._pool_kwargs()
        if db is not None:
            kwargs["db"] = db
            self.use_database(db)
        kwargs["gate"] = self.gate if record else self.internal_gate
        kwargs.update(self._lane_kwargs(lane, record=record, decode_responses=decode_responses))
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

    def keep_alive(self, names: Iterable[str], db: int | None = None) -> None:
        """Give these keys of the run (full names) the run's expiry again; nothing on a private
        fakeredis, whose keys end with the process."""

    def cleanup(self) -> int:
        """Remove every key of this run's namespace, in every database it used; returns how many
        were removed."""
        removed = unlink_matching(self.observer, self.namespace.pattern, lambda _name: True)
        for db in sorted(self.databases):
            removed += unlink_matching(
                self.observer_for(db), self.namespace.pattern, lambda _name: True
            )
        return removed

    def close(self, *, clean: bool = True) -> None:
        """Remove the run's keys (unless `clean` is False) and drop every connection."""
        try:
            if clean:
                self.cleanup()
        finally:
            for pool in self._pools:
                pool.disconnect()
            self._pools.clear()
            self._observer = None
            self._observers.clear()


def unlink_matching(observer: redis.Redis, pattern: str, keep: Any = lambda _name: True) -> int:
    """UNLINK every key SCAN finds for `pattern` for which keep(name) is true, in batches."""
    removed = 0
    batch: list[str] = []
    for name in observer.scan_iter(match=pattern, count=1000):
        if keep(name):
            batch.append(name)
        if len(batch) >= UNLINK_BATCH:
            removed += observer.unlink(*batch)
            batch.clear()
    if batch:
        removed += observer.unlink(*batch)
    return removed


class FakeBackend(Backend):
    """An in-process fakeredis server, one per run, shared by all its clients.

    The server records every command where it arrives (run/fakeserver.py): each client's
    connection is named by its lane (CLIENT SETNAME), and what the server did for it lands in the
    run's CommandLog, with replies as that client reads them (str where it decodes). The
    observer's connection is named with a leading "~" and is not recorded.
    """

    kind = "fake"
    # A private server: Celery's and Channels' Lua scripts run (fakeredis's lua extra, lupa).
    runs_scripts = True

    def __init__(self, namespace: Namespace | None = None, *, record: bool = True) -> None:
        """`record` False: the server only corrects its replies; a traced program's process
        records at its connections instead."""
        # fakeredis is imported here, not with this module: a run on a real server never needs it.
        from redisqueue_tutor.run.fakeserver import ServerRecorder, new_server

        super().__init__(namespace)
        self.server = new_server()
        self._decodes: dict[str, bool] = {}
        self._recorder = ServerRecorder(self.server, self._arrived if record else None)
        self._plain, self._recording = _fake_connection_classes()

    def _pool_kwargs(self) -> dict[str, Any]:
        return {"server": self.server}

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        return self._plain

    def _lane_kwargs(self, lane: str, *, record: bool, decode_responses: bool) -> dict[str, Any]:
        """The server records: a connection says its lane by its name (CLIENT SETNAME), the
        tutor's own with a leading "~", which is not recorded."""
        name = lane if record else f"~{lane}"
        self._decodes[name] = decode_responses
        return {"client_name": name}

    def _arrived(self, event: ServerEvent) -> None:
        """Called on the server's threads for everything it does: keep the lanes' commands."""
        name = event.name
        if not name or name.startswith("~") or housekeeping(event.command):
            return
        decode = self._decodes.get(name, False)
        if event.push:
            self.log.append(name, (), as_read(event.replies[0], decode), None)
            return
        reply: Any = event.replies[0] if len(event.replies) == 1 else list(event.replies)
        if isinstance(reply, Exception):
            self.log.append(name, event.command, None, str(reply))
            return
        self.log.append(name, event.command, as_read(reply, decode), None)

    def connect(self) -> ServerInfo:
        # fakeredis knows neither INFO nor ROLE, and there is nothing to reach: describe it as is.
        self.info = ServerInfo.embedded()
        return self.info

    def describe(self) -> str:
        return str(self.info or self.connect())

    def close(self, *, clean: bool = True) -> None:
        try:
            super().close(clean=clean)
        finally:
            self._recorder.close()


class RedisBackend(Backend):
    """A real Redis server named by a redis://, rediss:// or unix:// URL."""

    kind = "redis"

    def __init__(self, url: str, namespace: Namespace | None = None) -> None:
        super().__init__(namespace)
        self.url = url
        self.scheme = url.split("://", 1)[0]
        shown = redact(url)
        try:
            parsed = redis.connection.parse_url(url)
        except ValueError as exc:
            raise BackendError(
                f"{shown} is not a Redis URL ({exc}); use redis://host:port/db"
            ) from None
        parsed.pop("connection_class", None)
        refuse_unclear_url(url, parsed)
        self._url_kwargs = parsed
        self._heartbeat: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()
        try:  # an unknown ?option= or a bad value fails here, not in the middle of a lesson
            self._connection_class(False)(gate=self.internal_gate, **self._pool_kwargs())
        except (TypeError, ValueError, redis.RedisError) as exc:
            raise BackendError(
                f"{shown} has an option redis-py does not understand ({exc}); "
                "see https://redis.readthedocs.io for URL options"
            ) from None

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    @property
    def credentials(self) -> tuple[str | None, str | None]:
        """User name and password from the URL (for the doctor; never printed)."""
        return self._url_kwargs.get("username"), self._url_kwargs.get("password")

    @property
    def address(self) -> str:
        kwargs = self._url_kwargs
        if self.scheme == "unix":
            return str(kwargs.get("path", ""))
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"

    def _pool_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self._url_kwargs)
        # redis-py 8 waits 5 s to connect, retries 10 times with backoff and RE-SENDS blocking
        # commands on a timeout; a lesson must fail fast and never send a command twice.
        kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
        kwargs.setdefault("socket_timeout", COMMAND_TIMEOUT)
        kwargs["retry"] = Retry(NoBackoff(), 0)
        return kwargs

    def _connection_class(self, recording: bool) -> type[redis.Connection]:
        plain, recorded = CONNECTION_CLASSES[self.scheme]
        return recorded if recording else plain

    # -- before the first step ---------------------------------------------------------------
    def connect(self) -> ServerInfo:
        try:
            hello = _as_dict(self.observer.execute_command("HELLO"))
        except redis.ResponseError as exc:
            if "unknown command" in str(exc).lower():
                raise BackendError(
                    f"the server at {self.address} is older than Redis 6 (it does not know HELLO);"
                    f" the tutor needs Redis {_dotted(MIN_VERSION)} or later"
                ) from None
            raise BackendError(connect_failure(exc, self)) from None
        except redis.RedisError as exc:
            raise BackendError(connect_failure(exc, self)) from None
        product = str(hello.get("server", "redis"))
        info = ServerInfo(
            product={"redis": "Redis", "valkey": "Valkey"}.get(product, product),
            version=str(hello.get("version", "?")),
            address=self.address,
            db=int(self._url_kwargs.get("db") or 0),
            mode=str(hello.get("mode", "standalone")),
            role=str(hello.get("role", "master")),
            tls=self.tls,
        )
        refuse_unsuitable(info)
        self.info = info
        return info

    def start(self) -> ServerInfo:
        info = self.connect()
        try:
            self._lease()
        except redis.RedisError as exc:
            raise BackendError(connect_failure(exc, self)) from None
        self.started = True
        self._heartbeat = threading.Thread(target=self._renew, name="tutor-heartbeat", daemon=True)
        self._heartbeat.start()
        return info

    def describe(self) -> str:
        where = str(self.info) if self.info else f"{self.scheme}://{self.address}"
        return f"{where}, keys in {self.namespace.prefix}"

    # -- the run's keys expire unless the run lives ----------------------------------------
    def _owner(self) -> str:
        return json.dumps(
            {"host": machine_identity(), "pid": os.getpid(), "since": int(time.time())},
            sort_keys=True,
        )

    def _lease(self) -> None:
        # Who holds this namespace, for a person looking at the server; it expires like the rest.
        self.observer.set(self.namespace.owner_key, self._owner(), ex=KEY_TTL)

    def keep_alive(self, names: Iterable[str], db: int | None = None) -> None:
        owned = [name for name in names if self.gate.owns(name)]
        if not owned:
            return
        observer = self.observer if db is None else self.observer_for(db)
        with observer.pipeline(transaction=False) as pipe:
            for name in owned:
                pipe.expire(name, KEY_TTL)
            pipe.execute()

    @property
    def default_db(self) -> int:
        return int(self._url_kwargs.get("db") or 0)

    def _renew(self) -> None:
        while not self._stop_heartbeat.wait(HEARTBEAT_SECONDS):
            with suppress(redis.RedisError, AttributeError):
                self._lease()
                for db in (self.default_db, *sorted(self.databases)):
                    observer = self.observer_for(db)
                    names = observer.scan_iter(match=self.namespace.pattern, count=500)
                    self.keep_alive(names, db)

    def close(self, *, clean: bool = True) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat is not None:
            self._heartbeat.join(1)
        try:
            if clean and self.started:
                self.cleanup()  # the lease key lives in the namespace, so it goes too
        finally:
            super().close(clean=False)


def _as_dict(reply: Any) -> dict[str, Any]:
    # HELLO answers a map on RESP3 and a flat list on RESP2 (protocol=2 in the URL).
    items = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    return {_word(k): _word(v) if isinstance(v, bytes) else v for k, v in items}


# --------------------------------------------------------------------------------------------------
# Opening a backend for one run


def open_backend(spec: str | None) -> Backend:
    """`fake` (the default) or a redis:// / rediss:// / unix:// URL."""
    if spec is None or spec.strip() in ("", DEFAULT_BACKEND):
        return FakeBackend()
    spec = spec.strip()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisBackend(spec)
    raise BackendError(
        f"unknown backend {redact(spec)!r}: use 'fake' or a URL such as redis://localhost:6379/0"
    )


@contextmanager
def running(spec: str | None) -> Iterator[Backend]:
    """Open a backend, check it, and always clean up what the run created.

    Before yielding it connects and checks the server (so a bad URL, a replica or a wrong password
    fail before the first step). On exit (normal, error, Ctrl-C, SIGTERM, SIGHUP) it removes the
    run's keys.
    """
    backend = open_backend(spec)
    failure: BaseException | None = None
    with signals_as_exit():
        try:
            backend.start()
            yield backend
        except BaseException as exc:
            failure = exc
            raise
        finally:
            # After a timeout the server is unlikely to answer the cleanup either: the run's keys
            # expire by themselves (KEY_TTL) instead of making the learner wait again.
            clean = not isinstance(failure, redis.TimeoutError | BackendError)
            hold_signals()
            with suppress(redis.RedisError):
                backend.close(clean=clean)


__all__ = [
    "COMMAND_TIMEOUT",
    "ENV_REDIS_URL",
    "KEY_TTL",
    "Backend",
    "BackendError",
    "FakeBackend",
    "Namespace",
    "RedisBackend",
    "ServerInfo",
    "Terminated",
    "blocking_seconds",
    "connect_failure",
    "explain",
    "hold_signals",
    "machine_identity",
    "open_backend",
    "redact",
    "running",
    "signals_as_exit",
]
