"""What long values cost `tutor trace`, as ratios against the same program with short values.

    python benchmarks/trace_long_values.py [--rounds 5] [--url redis://...]

One program stores three values (SET, RPUSH, PUBLISH to a listener thread) and reads one back;
`big` makes each value 10 MB, `small` 10 bytes. Both are traced by the installed tutor, piped
(`--plain`), in alternating order (noise on a shared machine hits both alike); the verdict compares
the medians. Budgets: tracing the big program takes at most TIME_BUDGET times as long as the small
one, and prints at most OUTPUT_BUDGET bytes more (the values are folded on the screen). With
`-o run.json` the run file keeps the values whole: its time is reported beside, without a budget
(writing 90 MB of JSON is the point there). Without --url the embedded fakeredis is used.
Exit 1 over budget.

Before the values were folded (and the tutor read the tracer's events in linear time), the big
program took 89 s and printed 118 MB on this kind of machine, against about 0.4 s for the small.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME_BUDGET = 1.5
OUTPUT_BUDGET = 10_000  # bytes

PROGRAM = """\
import threading, redis
SIZE = {size}
r = redis.Redis()
p = r.pubsub()
p.subscribe("news")
def listen():
    for message in p.listen():
        if message["type"] == "message":
            return
t = threading.Thread(target=listen)
t.start()
r.set("a", "x" * SIZE)
r.rpush("q", "y" * SIZE)
r.publish("news", "z" * SIZE)
t.join()
print(len(r.get("a")))
"""


def traced(script: Path, backend: str, extra: list[str]) -> tuple[float, int]:
    command = [sys.executable, "-m", "redisqueue_tutor", "trace", str(script), "--plain"]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, "--backend", backend, "--timeout", "600", *extra],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{script.name} failed ({result.returncode}): {result.stderr.decode()[-500:]}")
    return seconds, len(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default="fake", help="a Redis to trace on (default: fakeredis)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as folder:
        here = Path(folder)
        scripts = {"small": here / "small.py", "big": here / "big.py"}
        scripts["small"].write_text(PROGRAM.format(size=10))
        scripts["big"].write_text(PROGRAM.format(size=10_000_000))
        times: dict[str, list[float]] = {"small": [], "big": [], "big -o": []}
        printed: dict[str, int] = {}
        for index in range(args.rounds):
            order = ["small", "big"] if index % 2 == 0 else ["big", "small"]
            for side in order:
                seconds, size = traced(scripts[side], args.url, [])
                times[side].append(seconds)
                printed[side] = size
            seconds, _ = traced(scripts["big"], args.url, ["-o", str(here / "run.json")])
            times["big -o"].append(seconds)
        run_file = (here / "run.json").stat().st_size

    median = {side: statistics.median(values) for side, values in times.items()}
    ratio = median["big"] / median["small"]
    extra = printed["big"] - printed["small"]
    print(f"backend: {args.url}, {args.rounds} rounds, medians")
    print(f"  small (10-byte values):  {median['small']:.2f} s, printed {printed['small']:,} bytes")
    print(f"  big (three 10 MB values): {median['big']:.2f} s, printed {printed['big']:,} bytes")
    print(f"  big with -o run.json:     {median['big -o']:.2f} s, run file {run_file:,} bytes")
    print(f"  time ratio big/small: {ratio:.2f} (budget {TIME_BUDGET})")
    print(f"  printed beyond small: {extra:,} bytes (budget {OUTPUT_BUDGET:,})")
    over = ratio > TIME_BUDGET or extra > OUTPUT_BUDGET
    print("OVER BUDGET" if over else "within budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
