"""What `tutor trace` costs a program, against the same program run plainly on the same backend.

    python benchmarks/trace_overhead.py                 # 10,000 commands, embedded and real server
    python benchmarks/trace_overhead.py --commands 1000 --pairs 5
    python benchmarks/trace_overhead.py --curve         # cost per command from 100 to 100,000

The program mixes what queues do: SET, LPUSH, RPOP and HSET, one command at a time. Plainly it
runs as `python program.py` on `fakeredis.FakeRedis()` (embedded) or on `redis.Redis(port=...)`
(a real server this script starts on a free loopback port and stops); traced it runs as
`python -m redisqueue_tutor trace program.py` on the same backend, output thrown away. Whole
processes are timed, start-up included, in pairs (plain, traced, traced, plain, ...) so that a
machine whose speed drifts moves both sides; the verdict is the median of the pairs' ratios.
Budgets (issue 15): within 2x on the embedded backend, 1.5x on a real server. Exit 1 over budget.

--curve times traced runs of 100 ... 100,000 commands and prints the cost of one command, (time
of N - time of a 1-command program) / N: flat means a long run costs no more per command than a
short one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis_server import own_server

BUDGETS = {"embedded": 2.0, "real": 1.5}

PROGRAM = """\
{client}
for i in range({rounds}):
    r.set(f"k{{i % 50}}", i)
    r.lpush("queue", i)
    r.rpop("queue")
    r.hset("h", f"f{{i % 50}}", i)
"""


def program(folder: Path, name: str, client: str, commands: int) -> Path:
    path = folder / name
    path.write_text(PROGRAM.format(client=client, rounds=max(1, commands // 4)))
    return path


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def trace_command(script: Path, url: str | None) -> list[str]:
    command = [sys.executable, "-m", "redisqueue_tutor", "trace", str(script), "--plain"]
    command += ["--timeout", "3600"]
    return command + (["--redis-url", url] if url else [])


def ratio(folder: Path, commands: int, pairs: int, port: int | None) -> tuple[float, float, float]:
    """Median traced/plain ratio over `pairs` pairs, and the median seconds of each side."""
    if port is None:
        plain_client = "import fakeredis\nr = fakeredis.FakeRedis()"
        url = None
    else:
        plain_client = f"import redis\nr = redis.Redis(port={port})"
        url = f"redis://127.0.0.1:{port}/0"
    plain = [sys.executable, str(program(folder, "plain.py", plain_client, commands))]
    traced = trace_command(
        program(folder, "traced.py", "import redis\nr = redis.Redis()", commands), url
    )
    timed(plain), timed(traced)  # warm the file cache
    ratios, plain_times, traced_times = [], [], []
    for index in range(pairs):
        order = [(plain, plain_times), (traced, traced_times)]
        if index % 2:
            order.reverse()
        for command, times in order:
            times.append(timed(command))
        ratios.append(traced_times[-1] / plain_times[-1])
    return (
        statistics.median(ratios),
        statistics.median(plain_times),
        statistics.median(traced_times),
    )


def curve(folder: Path, runs: int) -> None:
    base = trace_command(program(folder, "one.py", "import redis\nr = redis.Redis()", 4), None)
    start = statistics.median(timed(base) for _ in range(runs))
    print(f"{'commands':>9}  {'traced s':>9}  {'us per command':>14}")
    for commands in (100, 1_000, 10_000, 100_000):
        script = program(folder, f"n{commands}.py", "import redis\nr = redis.Redis()", commands)
        seconds = statistics.median(timed(trace_command(script, None)) for _ in range(runs))
        print(f"{commands:>9,}  {seconds:>9.2f}  {(seconds - start) / commands * 1e6:>14.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--curve", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="runs per size for --curve")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tutor-trace-bench-") as name:
        folder = Path(name)
        if options.curve:
            curve(folder, options.runs)
            return 0
        over = False
        with own_server() as url:
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            for side, where in (("embedded", None), ("real", port)):
                median, plain, traced = ratio(folder, options.commands, options.pairs, where)
                budget = BUDGETS[side]
                verdict = "within" if median <= budget else "OVER"
                over |= median > budget
                print(
                    f"{side:>8}: {options.commands:,} commands, plain {plain:.2f} s, traced"
                    f" {traced:.2f} s: {median:.2f}x ({verdict} the {budget}x budget)"
                )
        return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
