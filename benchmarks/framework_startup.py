"""Start-up of a framework lesson (issue 16), as a ratio against a baseline in the same run.

    python benchmarks/framework_startup.py [--runs 9]
    farm-bench -n 9 --vs "python benchmarks/baseline_celery.py" -- \
        python benchmarks/framework_startup.py --first-step

- `tutor step celery`, piped, until its first step is printed (the wait before a learner reads
  anything; the run goes on meanwhile and is stopped there), against a plain Python program that
  serves fakeredis, imports Django and Celery (the lessons' project) and sends one `.delay()`
  (baseline_celery.py): budget 1.5.
- The whole of `tutor step celery` piped (every step, its workers and a visibility timeout)
  is printed beside it, with no budget: it waits for what the lesson shows happening.

Runs alternate so that the machine's noise hits both sides; the verdict compares each side's
best time (noise only adds), medians beside. Measure an installed tutor (`pip install .`).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
BUDGET = 1.5


def first_step(lesson: str) -> tuple[float, float]:
    """Seconds until `tutor step LESSON` piped prints its first step; and until it ends, when
    left to run (the second figure is 0.0 when it was stopped at the first step)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TUTOR_REDIS_URL", None)
    start = time.perf_counter()
    process = subprocess.Popen(
        [PY, "-m", "redisqueue_tutor", "step", lesson],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    seen = 0.0
    for line in process.stdout:
        if b"Step 1 of " in line:
            seen = time.perf_counter() - start
            break
    process.send_signal(signal.SIGINT)
    process.communicate()
    if not seen:
        raise SystemExit(f"tutor step {lesson} never printed its first step")
    return seen, 0.0


def whole(lesson: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [PY, "-m", "redisqueue_tutor", "step", lesson],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def baseline() -> float:
    start = time.perf_counter()
    subprocess.run(
        [PY, str(HERE / "baseline_celery.py")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--first-step",
        action="store_true",
        help="run `tutor step celery` until its first step once, and exit (for farm-bench)",
    )
    args = parser.parse_args()
    if args.first_step:
        first_step("celery")
        return 0
    first_step("celery"), baseline()  # warm the file cache
    mine, base = [], []
    for _ in range(args.runs):
        mine.append(first_step("celery")[0])
        base.append(baseline())
    ratio = min(mine) / min(base)
    medians = statistics.median(mine) / statistics.median(base)
    verdict = "ok" if ratio <= BUDGET else "OVER BUDGET"
    print(
        f"tutor step celery, first step: {min(mine):.2f} s (median {statistics.median(mine):.2f})"
        f" against the baseline {min(base):.2f} s (median {statistics.median(base):.2f}):"
        f" {ratio:.2f}x, medians {medians:.2f}x (budget {BUDGET}) {verdict}"
    )
    print(f"tutor step celery, whole (for the record, no budget): {whole('celery'):.2f} s")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
