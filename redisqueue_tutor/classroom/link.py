"""The connection to a class's server: a real Redis every student reaches, through the gate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis

from redisqueue_tutor.classroom.keys import ClassError, ClassKeys
from redisqueue_tutor.run.backend import DEFAULT_BACKEND, RedisBackend
from redisqueue_tutor.run.faults import ENV_REDIS_URL, FALLBACK, BackendError, explain
from redisqueue_tutor.run.server import Namespace


def class_url(url: str | None) -> str:
    """The URL of the class's server; one line when there is none a room could share."""
    if url is None or url.strip() in ("", DEFAULT_BACKEND):
        raise ClassError(
            "a class needs a Redis every student can reach: give --redis-url "
            f"redis://HOST:6379 (or set ${ENV_REDIS_URL})"
        )
    return url.strip()


@contextmanager
def class_server(url: str, keys: ClassKeys) -> Iterator[redis.Redis]:
    """A client of the class's server whose every command must name the class's own keys.

    The server is checked as a lesson's is (a replica, a cluster node or an old server is
    refused). Nothing is removed on the way out: the class outlives one command.
    """
    backend = RedisBackend(url, Namespace(keys.prefix))
    try:
        try:
            backend.connect()
        except BackendError as exc:  # the embedded server is no way out for a class
            raise BackendError(
                str(exc).replace(FALLBACK, "start redis-server or check the URL")
            ) from None
        yield backend.observer  # gated by the class's namespace; not recorded
    finally:
        with suppress(redis.RedisError):
            backend.close(clean=False)


def address(url: str) -> str:
    """host:port of a URL, for messages (never the password)."""
    try:
        return RedisBackend(url, Namespace("tutor:class:{x}:")).address
    except BackendError:
        return "the server"


def unreachable(exc: BaseException) -> str:
    """One line for a Redis failure during a class command."""
    return (explain(exc) or str(exc)).replace(FALLBACK, "start redis-server or check the URL")


def what_failed(exc: BaseException) -> str:
    """What happened, without the advice: for a line that goes on ("...; still trying")."""
    return unreachable(exc).split(";")[0].strip()


__all__ = ["BackendError", "ClassError", "address", "class_server", "class_url", "unreachable"]
