"""One line for each way a Redis backend can fail: what happened, and what to try."""

from __future__ import annotations

from typing import Protocol

ENV_REDIS_URL = "TUTOR_REDIS_URL"
FALLBACK = "start redis-server, check the URL, or run with --backend fake"


class BackendError(Exception):
    """A backend problem explained in one line: what happened and what to try."""


class Endpoint(Protocol):
    """What a failure's explanation needs to know of the server it could not reach."""

    @property
    def address(self) -> str: ...

    @property
    def tls(self) -> bool: ...

    @property
    def credentials(self) -> tuple[str | None, str | None]: ...


def connect_failure(exc: BaseException, backend: Endpoint) -> str:
    """One line for a failure while connecting, using what we know about the URL."""
    import redis  # here, not at the top: run/server.py, which a trace's tutor side reads, is light

    text = str(exc)
    where = backend.address
    if isinstance(exc, redis.AuthenticationError) or "NOAUTH" in text or "WRONGPASS" in text:
        return auth_failure(exc, bool(backend.credentials[1]))
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"the TLS certificate of {where} is not trusted ({_reason(text)}); add"
            " ?ssl_ca_certs=/path/to/ca.pem to the URL (or ?ssl_cert_reqs=none for a class"
            " server you trust)"
        )
    unreachable = "refused" in text.lower() or "name or service" in text.lower()
    network = isinstance(exc, redis.TimeoutError | redis.ConnectionError)
    if backend.tls and network and not unreachable:
        return (
            f"no TLS answer from {where} ({text}); if the server does not use TLS, use"
            " redis:// instead of rediss://"
        )
    if (
        not backend.tls
        and isinstance(exc, redis.ConnectionError)
        and ("reset by peer" in text or "closed by server" in text)
    ):
        return (
            f"{where} closed the connection at once ({text}); if it expects TLS, use rediss://"
            " instead of redis://"
        )
    return explain(exc) or f"Redis error: {text}"


def auth_failure(exc: BaseException, had_password: bool) -> str:
    if had_password:
        return (
            f"Redis refused the user name or password ({_reason(str(exc))}); check them in the"
            " URL: redis://USER:PASSWORD@host:6379/0 (or redis://:PASSWORD@... for the default"
            " user)"
        )
    return (
        "this Redis needs a password; put it in the URL: redis://:PASSWORD@host:6379/0 (or"
        f" redis://USER:PASSWORD@... for an ACL user), e.g. in ${ENV_REDIS_URL}"
    )


def _reason(text: str) -> str:
    return text.strip().rstrip(".")


def explain(exc: BaseException) -> str | None:
    """One line for a Redis failure: what happened and what to try. None if it is not one."""
    from redis import exceptions as e

    if isinstance(exc, BackendError):
        return str(exc)
    text = str(exc)
    if isinstance(exc, e.AuthenticationError) or (
        isinstance(exc, e.ResponseError) and ("NOAUTH" in text or "WRONGPASS" in text)
    ):
        return auth_failure(exc, had_password="NOAUTH" not in text and "must be called" not in text)
    if isinstance(exc, e.TimeoutError):
        return f"Redis did not answer in time ({text}); {FALLBACK}"
    if isinstance(exc, e.ConnectionError):
        if "refused" in text.lower() or "connecting to" in text:
            return f"cannot reach Redis ({_reason(text)}); {FALLBACK}"
        return f"lost the connection to Redis ({_reason(text)}); did the server stop? {FALLBACK}"
    if isinstance(exc, e.ReadOnlyError):
        return "this Redis is a read-only replica; point the tutor at its primary"
    if isinstance(exc, e.NoPermissionError):
        return (
            f"this Redis user may not do that ({text}); the tutor needs keys and channels"
            " tutor:* (see the README on ACL users for classes)"
        )
    if isinstance(exc, e.RedisError):
        return f"Redis error: {text}"
    return None
