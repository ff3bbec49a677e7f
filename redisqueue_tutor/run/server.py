"""What the tutor talks to: a run's namespace, the server's description, and what makes a server
or a URL one the tutor refuses (a replica, a cluster node, a Sentinel, an old version, a URL
whose database or certificate files are not what they say)."""

from __future__ import annotations

import re
import secrets
import socket
from contextlib import suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from redisqueue_tutor.run.faults import BackendError

MIN_VERSION = (6, 2)  # HELLO needs 6.0; LMOVE, which the reliable-queue lessons use, 6.2


@dataclass(frozen=True)
class Namespace:
    """Prefix for every key and channel of one run, e.g. ``tutor:{3f9a0c1e}:queue``.

    The braces are a Redis Cluster hash tag: all keys of a run hash to one slot, so multi-key
    commands such as LMOVE work on a cluster too.
    """

    prefix: str

    @classmethod
    def new(cls) -> Namespace:
        return cls.for_run(secrets.token_hex(4))

    @classmethod
    def for_run(cls, run_id: str) -> Namespace:
        return cls(f"tutor:{{{run_id}}}:")

    @property
    def run_id(self) -> str:
        return self.prefix[len("tutor:{") : -len("}:")]

    def key(self, short: str) -> str:
        return self.prefix + short

    def short(self, name: str) -> str:
        return name.removeprefix(self.prefix)

    @property
    def pattern(self) -> str:
        # SCAN MATCH treats braces literally, but [ ] * ? \ are special: the prefix contains none.
        return self.prefix + "*"

    @property
    def owner_key(self) -> str:
        # "~" cannot start a lesson's key name (identifiers are [a-z][a-z0-9_]*): no collision.
        return self.prefix + "~owner"


@dataclass(frozen=True)
class ServerInfo:
    """What the tutor is talking to, as shown before the first step."""

    product: str  # "Redis", "Valkey", "fakeredis"
    version: str
    address: str  # "127.0.0.1:6379", "/run/redis.sock" or "in-process"
    db: int = 0
    mode: str = "standalone"
    role: str = "master"
    tls: bool = False

    @classmethod
    def embedded(cls) -> ServerInfo:
        """The embedded fakeredis, in this process."""
        try:
            found = version("fakeredis")
        except PackageNotFoundError:  # pragma: no cover - only in odd installs
            found = "?"
        return cls("fakeredis", found, "in-process")

    def __str__(self) -> str:
        if self.address == "in-process":
            return f"embedded {self.product} {self.version} (in-process, nothing to install)"
        tls = ", TLS" if self.tls else ""
        return f"{self.product} {self.version} at {self.address} db {self.db}{tls}"


def redact(url: str) -> str:
    """The URL without its password, fit to show: redis://:***@host:6379/0."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<the URL given>"


# TLS files a URL may name (?ssl_ca_certs=...): redis-py only finds one missing when it connects,
# and the error it raises then reads like a server that does not answer TLS.
_TLS_FILES = {
    "ssl_ca_certs": "CA certificate file",
    "ssl_certfile": "client certificate file",
    "ssl_keyfile": "client key file",
    "ssl_ca_path": "CA certificates folder",
}


def refuse_unclear_url(url: str, parsed: dict[str, Any]) -> None:
    """Refuse, before connecting, what redis-py would read silently as something else.

    redis-py takes the digits it finds in the path as the db: `redis://host/abc` is db 0 and
    `redis://host/1/2` db 12. A db is a whole number; its range is the server's to judge.
    """
    shown = redact(url)
    if not url.startswith("unix://"):
        path = unquote(urlsplit(url).path).strip("/")
        if path and not re.fullmatch(r"[0-9]+", path):
            raise BackendError(
                f"{shown}: the database {path[:40]!r} is not a database number; use"
                " redis://host:6379/0 (databases are numbered from 0)"
            )
    for option, what in _TLS_FILES.items():
        name = parsed.get(option)
        if name is None:
            continue
        exists = Path(name).is_dir() if option == "ssl_ca_path" else Path(name).is_file()
        if not exists:
            raise BackendError(f"{shown}: the {what} {name} ({option}) does not exist")


def _dotted(numbers: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in numbers)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def refuse_unsuitable(info: ServerInfo) -> None:
    """Raise BackendError for a server the lessons cannot run on safely."""
    if info.mode == "cluster":
        raise BackendError(
            f"{info.address} is a Redis Cluster node. The tutor speaks to one standalone server and"
            " does not follow cluster redirects (MOVED); a cluster would also need db 0 and every"
            " key of a lesson in one hash slot, which the run's {tag} already gives. Point the tutor"
            " at a standalone redis-server, or run with --backend fake"
        )
    if info.mode == "sentinel":
        raise BackendError(
            f"{info.address} is a Redis Sentinel, which holds no data; use the address of the"
            " primary it monitors (redis-cli -p 26379 SENTINEL get-master-addr-by-name NAME)"
        )
    if info.role not in ("master", "primary"):
        raise BackendError(
            f"{info.address} is a read-only replica; point the tutor at its primary"
            " (redis-cli ROLE on the replica shows where it is), or run with --backend fake"
        )
    found = _version_tuple(info.version)
    # fakeredis says its own version; served by a tutor (`tutor class open --serve`) it speaks
    # the Redis the tutor pins (fakeserver.SERVER_VERSION).
    if found and found < MIN_VERSION and info.product != "fakeredis":
        raise BackendError(
            f"{info.product} {info.version} at {info.address} is too old: the lessons need"
            f" {_dotted(MIN_VERSION)} or later (or run with --backend fake)"
        )


def machine_identity() -> str:
    """This machine, as precisely as we can tell: hostname plus the systemd machine id."""
    machine = ""
    for path in (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id")):
        with suppress(OSError):
            with path.open(encoding="ascii") as handle:
                machine = handle.read().strip()[:12]
            break
    return f"{socket.gethostname()}/{machine}"
