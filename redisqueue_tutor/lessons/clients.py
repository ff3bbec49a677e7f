"""A lesson's clients at work, and how the state they leave is read.

- Background: a command running on its client's own thread, as a worker blocked in BRPOP.
- Listener: a subscriber's background thread, as in a Django worker: subscribe, handle messages.
- Subscribers, StreamEntries, observe_key: what a channel, a stream or a key holds now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from redisqueue_tutor.keyspace.blocking import blocking_seconds
from redisqueue_tutor.run.recorder import send_unrecorded
from redisqueue_tutor.run.records import Value, freeze

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.model import Client

DELIVERY_TIMEOUT = 5.0  # seconds to wait for a published message to reach its listeners


class EngineError(Exception):
    """The scenario could not go on (a message that never arrived, a listener that hung)."""


class Background:
    """A command running on its client's own thread, as a worker blocked in BRPOP would be.

    Lessons give a background command no timeout (BRPOP queue 0, see lesson_model): it ends when
    a later step wakes it, however long the learner reads the screen in between. It runs on one
    connection held for it, so that closing the run can wake it (CLIENT UNBLOCK) instead of
    leaving a thread blocked for ever.
    """

    GRACE = 5.0  # seconds to wait beyond the command's own timeout
    FOREVER = 30.0  # how long a join waits for a command without a timeout before giving up

    def __init__(
        self, client: redis.Redis, words: list[str], assign: str | None, observer: redis.Redis
    ) -> None:
        self.client = client
        self.words = words
        self.assign = assign
        self.observer = observer
        self.fresh = True  # not shown in a step yet
        self._reply: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        pool = client.connection_pool
        self._connection = pool.get_connection()
        try:
            self._connection_id = send_unrecorded(self._connection, "CLIENT", "ID")
        except BaseException:
            pool.release(self._connection)
            raise
        self.thread = threading.Thread(target=self._run, name="tutor-background", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        connection = self._connection
        try:
            connection.send_command(*self.words)
            self._reply = self.client.parse_response(connection, self.words[0])
        except BaseException as exc:  # handed to the main thread by wait()
            self._error = exc
        finally:
            self.client.connection_pool.release(connection)
            self._done.set()

    def _limit(self) -> float:
        # The command's own timeout (BRPOP's last word, XREADGROUP's BLOCK); 0 means forever.
        own = blocking_seconds(tuple(self.words)) or 0.0
        return (own if own > 0 else self.FOREVER) + self.GRACE

    def wait(self) -> Value:
        if not self._done.wait(self._limit()):
            self.abandon()
            raise EngineError(f"{' '.join(self.words[:2])} was never answered")
        if self._error is not None:
            raise self._error
        return freeze(self._reply)

    def abandon(self) -> None:
        """Stop waiting: wake the blocked command (CLIENT UNBLOCK, its own connection only) and
        join the thread. Where the server refuses CLIENT UNBLOCK (an ACL without @admin), closing
        the connection ends the command on a real server all the same."""
        if not self._done.is_set():
            with suppress(redis.RedisError):
                self.observer.execute_command("CLIENT", "UNBLOCK", self._connection_id)
            if not self._done.wait(1.0):
                with suppress(Exception):
                    self._connection.disconnect()
        self.thread.join(1.0)


@dataclass(frozen=True)
class Subscribers:
    """A channel's state: how many clients are subscribed to it (PUBSUB NUMSUB), and the run's
    pattern subscriptions that match it, which PUBLISH counts too but NUMSUB does not."""

    count: int
    patterns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        text = f"{self.count} subscriber" + ("" if self.count == 1 else "s")
        if self.patterns:
            several = len(self.patterns) > 1
            text += f" + {len(self.patterns)} pattern{'s' if several else ''} ({', '.join(self.patterns)})"
        return text


class Listener:
    """A subscriber's background thread, as in a Django app: subscribe, then handle messages.

    It waits in `get_message(timeout=...)` and is woken by what ends it (the confirmation of its
    UNSUBSCRIBE, sent by stop(), or its connection closing), so it never polls and can always be
    joined: a bare `listen()` loop would block until a message comes.
    """

    WAIT = 1.0  # seconds: only a safety net, every end of the wait is signalled

    def __init__(
        self,
        connection: redis.Redis,
        client: Client,
        command: str,
        names: list[str],
        heard: Callable[[Client, dict[str, Any], Listener], None],
    ) -> None:
        self.client = client
        self.command = command
        self.names = names
        self.received: list[Value] = []
        self.printed: list[str] = []
        self.pubsub = connection.pubsub()
        self._heard = heard  # called on the listener's thread for every message
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._confirmation: Any = None
        self._error: BaseException | None = None
        self._killed = False
        self.confirmed = False  # Redis confirmed the subscription
        self.thread = threading.Thread(
            target=self._run, name=f"tutor-listener-{client.name}", daemon=True
        )

    def start(self) -> Any:
        """Start the thread; return the subscription's confirmation once it has arrived."""
        self.thread.start()
        if not self._ready.wait(DELIVERY_TIMEOUT):
            self.stop()
            raise EngineError(f"{self.client.name} did not confirm its subscription")
        if self._error is not None:
            raise self._error
        return self._confirmation

    def stop(self) -> Any:
        """Unsubscribe, stop and join the thread; returns the unsubscribe confirmation.

        The UNSUBSCRIBE is sent from here, so the listener, waiting for its next message, wakes
        at once with the confirmation instead of noticing a flag at its next poll.
        """
        self._stop.set()
        if self.thread.is_alive() and not self._killed and self.confirmed:
            with suppress(redis.RedisError, OSError):
                if self.command == "PSUBSCRIBE":
                    self.pubsub.punsubscribe()
                else:
                    self.pubsub.unsubscribe()
        self.thread.join(DELIVERY_TIMEOUT)
        if self.thread.is_alive():
            raise EngineError(f"the listener thread of {self.client.name} did not stop")
        return self._confirmation

    def kill(self) -> None:
        """The process dies: no UNSUBSCRIBE, its connection just closes (Redis drops the
        subscription with it), which also wakes the listener's wait."""
        self._killed = True
        self._stop.set()
        connection = self.pubsub.connection
        if connection is not None:
            with suppress(Exception):
                connection.disconnect()
        self.stop()

    def _run(self) -> None:
        pubsub = self.pubsub
        try:
            subscribe = pubsub.psubscribe if self.command == "PSUBSCRIBE" else pubsub.subscribe
            subscribe(*self.names)
            while True:
                # A long wait: a message, the confirmation of stop()'s UNSUBSCRIBE, or a closed
                # connection (kill) ends it at once; the timeout is only a safety net.
                message = pubsub.get_message(timeout=self.WAIT)
                if message is None:
                    if self._stop.is_set() and (self._killed or not pubsub.subscribed):
                        break
                    continue
                kind = message["type"]
                if kind in ("message", "pmessage"):
                    self._heard(self.client, message, self)
                elif kind in ("subscribe", "psubscribe"):
                    self._confirmation = freeze(message["data"])
                    self.confirmed = True
                    self._ready.set()
                elif kind in ("unsubscribe", "punsubscribe"):
                    self._confirmation = freeze(message["data"])
                    if not pubsub.subscribed:
                        break
        except (redis.ConnectionError, OSError, ValueError, AttributeError):
            if not self._killed:
                raise
        except BaseException as exc:  # reported to the main thread by start()
            self._error = exc
            self._ready.set()
        finally:
            pubsub.close()


@dataclass(frozen=True)
class StreamEntries:
    """A stream's state: its entries in order, each an id and its fields (XRANGE - +)."""

    entries: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    def __repr__(self) -> str:
        shown = (
            entry_id + " " + " ".join(f"{field}={value}" for field, value in fields)
            for entry_id, fields in self.entries
        )
        return "[" + ", ".join(shown) + "]"


def observe_key(observer: redis.Redis, name: str) -> Value:
    """What a key holds, read without changing it. A missing key reads as an empty list."""
    kind = observer.type(name)
    if kind in ("list", "none"):
        return freeze(observer.lrange(name, 0, -1))
    if kind == "string":
        return observer.get(name)
    if kind == "hash":
        return freeze(observer.hgetall(name))
    if kind == "set":
        return freeze(observer.smembers(name))
    if kind == "zset":
        return freeze(observer.zrange(name, 0, -1, withscores=True))
    if kind == "stream":
        return freeze(observer.xrange(name))
    return "<" + (kind.decode() if isinstance(kind, bytes) else str(kind)) + ">"
