"""A class without a Redis server: the teacher's tutor serves its embedded fakeredis on the
network for as long as the class is open (`tutor class open --serve HOST:PORT`), every connection
asked for a password made for that class."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redisqueue_tutor.classroom.keys import ClassError
from redisqueue_tutor.run.fakeserver import ServedServer, new_server

EVERY_ADDRESS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class Served:
    url: str  # for the teacher's own tutor (loopback when it serves every address)
    shared: str  # what students put in their join command
    address: str  # host:port, as bound


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ClassError(f"--serve {text!r}: give HOST:PORT, such as 0.0.0.0:6380")
    try:
        found = ipaddress.ip_address(host)
    except ValueError:
        raise ClassError(
            f"--serve {text!r}: HOST is an IPv4 address, such as 0.0.0.0 (every network) or"
            " 127.0.0.1 (this computer only)"
        ) from None
    if found.version != 4:
        raise ClassError(f"--serve {text!r}: serving on IPv6 is not supported; use an IPv4 address")
    return host, int(port)


def reachable_address() -> str:
    """This computer's address on its network, as students would dial it (no packet is sent:
    connecting a UDP socket only picks the route); loopback when there is no network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@contextmanager
def serving(address: str) -> Iterator[Served]:
    """The embedded server on `address` until the block ends; a new password for it."""
    host, port = parse_address(address)
    password = secrets.token_urlsafe(12)
    try:
        served = ServedServer(new_server(), (host, port), password)
    except OSError as exc:
        raise ClassError(f"cannot serve on {address}: {exc.strerror or exc}") from None
    try:
        bound = served.port
        own = "127.0.0.1" if host in EVERY_ADDRESS else host
        shared = reachable_address() if host in EVERY_ADDRESS else host
        shown = f"[{shared}]" if ":" in shared else shared
        own_shown = f"[{own}]" if ":" in own else own
        yield Served(
            url=f"redis://:{password}@{own_shown}:{bound}/0",
            shared=f"redis://:{password}@{shown}:{bound}/0",
            address=f"{host}:{bound}",
        )
    finally:
        served.close()
