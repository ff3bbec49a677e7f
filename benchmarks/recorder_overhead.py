"""What the command recorder costs, in the same run (issue 3's budget: 10 %).

    python benchmarks/recorder_overhead.py [--pairs 2000] [--rounds 15] [--url redis://...]
    python benchmarks/recorder_overhead.py --fake   # the embedded server, recording where commands arrive

Unpipelined LPUSH + RPOP round trips (what a lesson does: one command per step) through clients of
one Backend: `connection_pool(record=True)` (what lessons use) against `record=False` (the same
connection class without the recording mixin), plus bare redis-py for reference. Without --url it
starts its own redis-server on a free loopback port and stops it. The machine is shared and noisy,
so the sides run in short blocks, back to back, in alternating order (A B B A ...); each round gives
one recorded/not-recorded ratio and the median ratio is the verdict. Exit 1 over budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import redis
from redis_server import server

from redisqueue_tutor.run.backend import RedisBackend, running

BUDGET = 1.10


def round_trips(client: redis.Redis, key: str, pairs: int) -> float:
    started = time.perf_counter()
    for i in range(pairs):
        client.lpush(key, i)
        client.rpop(key)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=250, help="LPUSH+RPOP pairs per block")
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--url", help="a Redis to use (default: start our own)")
    parser.add_argument(
        "--fake",
        action="store_true",
        help="the embedded backend, where its server records (recorded lanes against the same"
        " server's unrecorded connections)",
    )
    args = parser.parse_args()

    context = server("fake" if args.fake else args.url)
    with context as url, running(url) as backend:
        if not args.fake:
            assert isinstance(backend, RedisBackend)
        key = backend.namespace.key("bench")
        sides: dict[str, Callable[[], float]] = {
            "recorded": _side(
                redis.Redis(connection_pool=backend.connection_pool("producer")), key, args.pairs
            ),
            "not recorded": _side(
                redis.Redis(connection_pool=backend.connection_pool("bench", record=False)),
                key,
                args.pairs,
            ),
        }
        if args.fake:
            import fakeredis

            from redisqueue_tutor.run.fakeserver import new_server

            # A server nobody records: what the dispatch hooks themselves cost.
            bare = fakeredis.FakeRedis(server=new_server())
            sides["bare fakeredis"] = _side(bare, key, args.pairs)
        else:
            sides["bare redis-py"] = _side(redis.Redis.from_url(url), key, args.pairs)
        for run in sides.values():  # warm up: connect, fill caches
            run()
        times: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for number in range(args.rounds):
            for name in names if number % 2 == 0 else reversed(names):
                times[name].append(sides[name]())
        where = backend.describe()
        recorded = len(backend.log)

    commands = 2 * args.pairs
    print(f"{where}; {args.rounds} rounds of {args.pairs} LPUSH+RPOP pairs, unpipelined")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"  {name:<14} median {median * 1000:7.1f} ms, best {min(samples) * 1000:7.1f} ms"
            f"  ({commands / median:,.0f} commands/s)"
        )
    ratios = [r / n for r, n in zip(times["recorded"], times["not recorded"], strict=True)]
    ratio = statistics.median(ratios)
    best = min(times["recorded"]) / min(times["not recorded"])
    print(
        f"recorded / not recorded: median of per-round ratios {ratio:.3f}, best / best {best:.3f}"
    )
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(
        f"recorder overhead: {100 * (ratio - 1):+.1f} % ({verdict} the {100 * (BUDGET - 1):.0f} %"
        f" budget); {recorded:,} commands recorded"
    )
    return 0 if ratio <= BUDGET else 1


def _side(client: redis.Redis, key: str, pairs: int) -> Callable[[], float]:
    return lambda: round_trips(client, key, pairs)


if __name__ == "__main__":
    sys.exit(main())
