"""Clients of a traced program that reach a real server around the run's proxy, found and stopped.

Every redis-py client of the program's processes is pointed at the run (redirect.py), and the
program's own process records its clients at their connections. A process that is not redirected
(started with `python -I`, a PYTHONPATH of its own, a program in another language given the
server's address) would talk to the user's server directly: outside the run's namespace, and
unseen. The tutor cannot keep such a client's keys in the namespace, so, as the gate does for a
command it cannot keep there, it refuses the run: while the program runs it looks, every
LOOK_EVERY seconds, at the TCP connections of every process of the program below its first one
(Linux: /proc/PID/fd and /proc/net/tcp, tcp6), and stops the program as soon as one of them is
connected to the server's address, naming the process and its command line.

A connection opened and closed between two looks can be missed; one that stays open (a worker's,
a pool's) cannot. A fork of the traced process is not looked at: it runs the tracer too. Elsewhere
than Linux nothing is looked at.
"""

from __future__ import annotations

import socket
from pathlib import Path

LOOK_EVERY = 0.1  # seconds between looks at the program's connections
PROC = Path("/proc")
_OPEN = {"01", "02", "03"}  # ESTABLISHED, SYN_SENT, SYN_RECV


def server_addresses(host: str, port: int) -> set[tuple[str, int]]:
    """Every (IP, port) the server's address may be reached at, as /proc/net/tcp writes them."""
    found: set[tuple[str, int]] = set()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return found
    for family, _kind, _proto, _name, address in infos:
        ip = str(address[0])
        found.add((ip, port))
        if family == socket.AF_INET:  # an IPv4 address reached through an IPv6 socket
            found.add((f"::ffff:{ip}", port))
    if host in ("localhost", "127.0.0.1", "::1"):
        found |= {("127.0.0.1", port), ("::1", port), ("::ffff:127.0.0.1", port)}
    return found


def _ip(hex_ip: str) -> str:
    raw = bytes.fromhex(hex_ip)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    # IPv6: four 32-bit words, each in the host's (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def _remote_by_inode() -> dict[str, tuple[str, int]]:
    """Socket inode -> (remote IP, port) of every open TCP connection this host's /proc shows."""
    found: dict[str, tuple[str, int]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] not in _OPEN:
                continue
            ip, _colon, port = fields[2].partition(":")
            try:
                found[fields[9]] = (_ip(ip), int(port, 16))
            except ValueError:
                continue
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        links = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for link in links:
        try:
            target = str(link.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _command_bytes(pid: int) -> bytes | None:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None


def command_line(pid: int) -> str:
    """`python3 -I -c ...`: the process's command line, its program by name alone."""
    raw = _command_bytes(pid) or b""
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    if parts:
        parts[0] = Path(parts[0]).name
    return " ".join(parts) or "?"


def bypassing(pids: set[int], addresses: set[tuple[str, int]], root: int) -> tuple[int, str] | None:
    """(pid, address) of a process among `pids` connected to one of `addresses`; None if none.

    A fork of the traced process `root` (os.fork, multiprocessing's "fork") is left out: its
    clients are the tracer's, recorded and namespaced, and the sockets it inherited are root's."""
    if not pids or not addresses or not PROC.is_dir():
        return None
    own = _command_bytes(root)
    if not own:
        # The traced process is ending or gone: its forks can no longer be told by its command
        # line, and they hold the sockets it had (the tracer's own, to the server). Judged in
        # LOOK_EVERY seconds if it is still there; a run whose process has ended is over.
        return None
    # A process whose command line reads empty is ending (its memory is gone before its files
    # are closed) or gone: it is looked at again, if still there, in LOOK_EVERY seconds.
    pids = {pid for pid in pids if (line := _command_bytes(pid)) and line != own}
    inherited = _socket_inodes(root)
    inodes = {pid: _socket_inodes(pid) - inherited for pid in pids}
    if not any(inodes.values()):
        return None
    remote = _remote_by_inode()
    for pid, mine in sorted(inodes.items()):
        for inode in mine:
            if remote.get(inode) in addresses:
                ip, port = remote[inode]
                return pid, f"{ip}:{port}"
    return None


def refusal(pid: int, address: str) -> str:
    line = command_line(pid)
    if len(line) > 60:
        line = line[:59] + "…"
    return (
        f"process {pid} ({line}) connected to the Redis server at {address} directly, around"
        " the tutor and outside the run's namespace, so the program was stopped (let it use"
        " $REDIS_URL, not -I)"
    )
