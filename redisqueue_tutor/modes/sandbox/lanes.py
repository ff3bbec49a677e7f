"""A listener lane of the sandbox: a subscriber client whose background thread collects what it
hears, as a Django worker's listener thread would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import redis

from redisqueue_tutor.lessons.clients import DELIVERY_TIMEOUT
from redisqueue_tutor.modes.sandbox.errors import Refused
from redisqueue_tutor.run.records import Value


class Lane:
    """A listener lane: a subscriber client with a background thread that collects messages."""

    POLL = 0.05

    def __init__(
        self,
        connection: redis.Redis,
        name: str,
        kind: str,
        names: list[str],
        *,
        sent: list[str],
        heard: Callable[[Lane, dict[str, Any]], None],
    ) -> None:
        self._heard = heard  # called on the lane's thread for every message
        self.name = name
        self.kind = kind  # SUBSCRIBE or PSUBSCRIBE
        self.names = names  # as the learner typed them
        self._sent = sent  # namespaced
        self.received: list[tuple[str, Value]] = []
        self.pubsub = connection.pubsub()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._confirmed = 0
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"tutor-sandbox-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self._ready.wait(DELIVERY_TIMEOUT):
            self.stop()
            raise Refused(f"{self.name} did not get its subscription confirmed in time")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(DELIVERY_TIMEOUT)

    def _run(self) -> None:
        pubsub = self.pubsub
        try:
            if self.kind == "PSUBSCRIBE":
                pubsub.psubscribe(*self._sent)
            else:
                pubsub.subscribe(*self._sent)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=self.POLL)
                if message is not None:
                    self._take(message)
            if self.kind == "PSUBSCRIBE":
                pubsub.punsubscribe()
            else:
                pubsub.unsubscribe()
            # Read the confirmations so the recorder logs them with the UNSUBSCRIBE.
            for _ in range(20):
                if not pubsub.subscribed:
                    break
                pubsub.get_message(timeout=self.POLL)
        except BaseException as exc:  # reported to the main thread by start()
            self._error = exc
            self._ready.set()
        finally:
            with suppress(Exception):
                pubsub.close()

    def _take(self, message: dict[str, Any]) -> None:
        """A message heard, or a subscription confirmed (start() waits for them all)."""
        if message["type"] in ("message", "pmessage"):
            self._heard(self, message)
        elif message["type"] in ("subscribe", "psubscribe"):
            self._confirmed += 1
            if self._confirmed >= len(self._sent):
                self._ready.set()
