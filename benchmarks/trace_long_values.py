"""What long values cost `tutor trace`, against the same program run without the tutor.

    python benchmarks/trace_long_values.py [--rounds 5] [--url redis://...]

One program stores three values (SET, RPUSH, PUBLISH to a listener thread) and reads one back:
`big` makes each value 10 MB, `small` 10 bytes. Each round runs, in alternating order (noise on a
shared machine hits every side alike):

- the program alone, on the server (the baseline: what the program itself costs);
- the program traced by the installed tutor, piped (`--plain`), on that server and on the
  embedded fakeredis.

The tutor's own cost is the traced time minus the program's. Budgets: with 10 MB values that cost
is at most TIME_BUDGET times what it is with 10-byte values (on each backend), and the big program
prints at most OUTPUT_BUDGET bytes more than the small one (the values are folded on the screen).
The tracer reads every key the program touched after each step (the Queue State is what Redis
holds), so on a real server 10 MB values cost their transfer at each step: about twice the cost of
small ones, measured (before the folding it was more than a hundred times: see below).
`-o run.json` keeps the values whole: its time is reported beside, without a budget (it writes a
file of about 110 MB). Without --url a redis-server of its own is started on a free loopback port.
Exit 1 over budget.

Before the values were folded (and the tutor read the tracer's events in linear time), three 10 MB
values took 89 s to trace and printed 118 MB on this kind of machine, against about 0.6 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis_server import server

TIME_BUDGET = 3.0
OUTPUT_BUDGET = 10_000  # bytes

PROGRAM = """\
import sys, threading, redis
SIZE = {size}
r = redis.Redis.from_url(sys.argv[1])
p = r.pubsub()
p.subscribe("news")
def listen():
    for message in p.listen():
        if message["type"] == "message":
            return
t = threading.Thread(target=listen)
t.start()
r.set("bench:a", "x" * SIZE)
r.rpush("bench:q", "y" * SIZE)
r.publish("news", "z" * SIZE)
t.join()
print(len(r.get("bench:a")))
r.delete("bench:a", "bench:q")
"""


def timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:5])} failed: {result.stderr.decode()[-500:]}")
    return seconds, len(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", help="a Redis to use (default: start our own)")
    args = parser.parse_args()

    tutor = [sys.executable, "-m", "redisqueue_tutor", "trace"]
    with (
        tempfile.TemporaryDirectory(prefix="tutor-bench-") as folder,
        server(args.url) as url,
    ):
        here = Path(folder)
        for size, name in ((10, "small"), (10_000_000, "big")):
            (here / f"{name}.py").write_text(PROGRAM.format(size=size))

        def alone(name: str) -> list[str]:
            return [sys.executable, str(here / f"{name}.py"), url]

        def traced(name: str, backend: str, *extra: str) -> list[str]:
            script = str(here / f"{name}.py")
            options = ["--plain", "--backend", backend, "--timeout", "600", *extra]
            return [*tutor, script, *options, "--", url]  # the tracer ignores the program's URL

        sides = {
            f"{name} {how}": command
            for name in ("small", "big")
            for how, command in (
                ("alone", alone(name)),
                ("traced on the server", traced(name, url)),
                ("traced on fakeredis", traced(name, "fake")),
            )
        }
        sides["big traced, -o run.json"] = traced("big", "fake", "-o", str(here / "run.json"))
        times: dict[str, list[float]] = {side: [] for side in sides}
        printed: dict[str, int] = {}
        for index in range(args.rounds):
            order = list(sides) if index % 2 == 0 else list(reversed(sides))
            for side in order:
                seconds, size = timed(sides[side])
                times[side].append(seconds)
                printed[side] = size
        run_file = (here / "run.json").stat().st_size

    median = {side: statistics.median(values) for side, values in times.items()}
    print(f"{args.rounds} rounds, medians")
    for side, seconds in median.items():
        print(f"  {side:<28} {seconds:6.2f} s   printed {printed[side]:>11,} bytes")
    print(f"  (the run file: {run_file:,} bytes)")
    over = False
    for how in ("traced on the server", "traced on fakeredis"):
        # The program alone runs on the server either way: it is the program's own cost.
        small = median[f"small {how}"] - median["small alone"]
        big = median[f"big {how}"] - median["big alone"]
        ratio = big / small
        extra = printed[f"big {how}"] - printed[f"small {how}"]
        print(
            f"  {how}: the tutor adds {small:.2f} s to the small program, {big:.2f} s to the"
            f" big one: ratio {ratio:.2f} (budget {TIME_BUDGET}); printed {extra:,} bytes more"
            f" (budget {OUTPUT_BUDGET:,})"
        )
        over = over or ratio > TIME_BUDGET or extra > OUTPUT_BUDGET
    print("OVER BUDGET" if over else "within budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
