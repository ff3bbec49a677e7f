"""What the recording proxy costs on a real server, in the same run (issue 15: a traced program
within 1.5x of a plain run, so the proxy alone must stay well under that).

    python benchmarks/proxy_overhead.py [--pairs 10000] [--rounds 5] [--url redis://...]

A child process (as `tutor trace` runs a program) sends LPUSH + RPOP pairs with redis-py, once
straight to the server and once through a RecordingProxy in this process that records every event
(on_event appends to a list, as a recorder would): unpipelined round trips, then pipelines of 100
commands (transaction=False). Without --url it starts its own redis-server on a free loopback port
and stops it. The machine is shared and noisy, so the two sides run back to back in alternating
order; each round gives one proxy/direct ratio and the median is the verdict. Exit 1 when the
unpipelined median is over budget.

A third side, `forwarder`, passes the bytes through a bare poll loop in this process without
reading them: the cost of the extra hop alone (two more loopback writes and wake-ups per round
trip), the floor under any proxy; what the recording proxy adds beyond it is its own work.
"""

from __future__ import annotations

import argparse
import select
import socket
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis_server import server

from redisqueue_tutor.keyspace.gate import Gate
from redisqueue_tutor.run.proxy import RecordingProxy, WireEvent
from redisqueue_tutor.run.server import Namespace

BUDGET = 1.5

PROGRAM = r"""
import sys, time, redis
client = redis.Redis.from_url(sys.argv[1])
pipelined, pairs, key = sys.argv[2] == "pipelined", int(sys.argv[3]), sys.argv[4]
client.ping()
started = time.perf_counter()
if pipelined:
    for _ in range(0, pairs, 50):
        pipe = client.pipeline(transaction=False)
        for i in range(50):
            pipe.lpush(key, i)
            pipe.rpop(key)
        pipe.execute()
else:
    for i in range(pairs):
        client.lpush(key, i)
        client.rpop(key)
print(time.perf_counter() - started)
"""


@contextmanager
def forwarder(url: str) -> Iterator[str]:
    """A bare pass-through to the server at `url` (redis://host:port), one thread a connection."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(client: socket.socket) -> None:
        with client, socket.create_connection((host, int(port))) as upstream:
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            poller = select.poll()
            poller.register(client, select.POLLIN)
            poller.register(upstream, select.POLLIN)
            other = {client.fileno(): upstream, upstream.fileno(): client}
            sockets = {client.fileno(): client, upstream.fileno(): upstream}
            while True:
                for fd, _ in poller.poll():
                    data = sockets[fd].recv(1 << 18)
                    if not data:
                        return
                    other[fd].sendall(data)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


def program(url: str, mode: str, pairs: int, key: str) -> float:
    """Seconds the child spent on its pairs (its own start-up not counted)."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, url, mode, str(pairs), key],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000, help="LPUSH+RPOP pairs per side")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", help="a Redis to use (default: start our own)")
    args = parser.parse_args()

    namespace = Namespace.new()
    events: list[WireEvent] = []
    verdict = 0
    with (
        server(args.url) as url,
        RecordingProxy(
            url, prefix=namespace.prefix, gate=Gate(namespace.prefix), on_event=events.append
        ) as proxy,
        forwarder(url) as bare,
    ):
        # Straight to the server, the program names the run's key itself; through the proxy
        # it names the short key and the proxy adds the prefix: the same key either way.
        key = namespace.key("bench")
        sides = {"direct": (url, key), "forwarder": (bare, key), "proxy": (proxy.url, "bench")}
        for mode in ("unpipelined", "pipelined"):
            seconds: dict[str, list[float]] = {side: [] for side in sides}
            for round_number in range(args.rounds):
                order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
                for side in order:
                    side_url, side_key = sides[side]
                    seconds[side].append(program(side_url, mode, args.pairs, side_key))
                events.clear()
            ratios = {
                side: [s / d for s, d in zip(seconds[side], seconds["direct"], strict=True)]
                for side in ("forwarder", "proxy")
            }
            ratio = statistics.median(ratios["proxy"])
            print(
                f"{mode}, {args.pairs} pairs: direct {statistics.median(seconds['direct']):.3f} s;"
                f" median ratio to direct: proxy {ratio:.2f}, bare forwarder"
                f" {statistics.median(ratios['forwarder']):.2f}"
                f" (proxy by round: {', '.join(f'{r:.2f}' for r in ratios['proxy'])})"
            )
            if mode == "unpipelined" and ratio > BUDGET:
                verdict = 1
        if proxy.problems:
            print("proxy problems:", *proxy.problems, sep="\n  ")
            verdict = 1
    print(f"budget for unpipelined round trips: {BUDGET:.2f}x ->", "over" if verdict else "within")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
