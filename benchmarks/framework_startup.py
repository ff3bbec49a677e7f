"""Start-up of the framework lessons (issue 16), each a ratio against a baseline in the same run.

    python benchmarks/framework_startup.py [--runs 9] [--lessons celery rq channels]
    farm-bench -n 9 --vs "python benchmarks/baseline_framework.py rq" -- \\
        python benchmarks/framework_startup.py --first-step rq

- `tutor step LESSON`, piped, until its first step is printed (the wait before a learner reads
  anything; the run goes on meanwhile and is stopped there), against a plain Python program that
  serves fakeredis, sets up the lessons' Django project and hands one piece of work to the
  framework (baseline_framework.py LESSON: a .delay(), a django_rq.enqueue, a group_send):
  budget 1.5 each.
- The whole of `tutor step LESSON` piped (every step: workers starting, timeouts passing) is
  printed beside it, with no budget: it waits for what the lesson shows happening.

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
from functools import partial
from pathlib import Path

from paired import paired

HERE = Path(__file__).resolve().parent
PY = sys.executable
BUDGET = 1.5
LESSONS = ("celery", "rq", "channels")


def _env() -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TUTOR_REDIS_URL", None)
    return env


def first_step(lesson: str) -> float:
    """Seconds until `tutor step LESSON` piped prints its first step; then it is stopped."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [PY, "-m", "redisqueue_tutor", "step", lesson],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
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
    return seen


def whole(lesson: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [PY, "-m", "redisqueue_tutor", "step", lesson],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        check=True,
    )
    return time.perf_counter() - start


def baseline(lesson: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [PY, str(HERE / "baseline_framework.py"), lesson],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--lessons", nargs="+", choices=LESSONS, default=list(LESSONS))
    parser.add_argument(
        "--first-step",
        choices=LESSONS,
        help="run `tutor step LESSON` until its first step once, and exit (for farm-bench)",
    )
    args = parser.parse_args()
    if args.first_step:
        first_step(args.first_step)
        return 0
    failed = False
    for lesson in args.lessons:
        timed = paired(partial(first_step, lesson), partial(baseline, lesson), args.runs)
        mine, base, ratio, medians = timed.mine, timed.base, timed.ratio, timed.medians
        verdict = "ok" if ratio <= BUDGET else "OVER BUDGET"
        failed |= ratio > BUDGET
        print(
            f"tutor step {lesson}, first step: {min(mine):.2f} s"
            f" (median {statistics.median(mine):.2f}) against the baseline {min(base):.2f} s"
            f" (median {statistics.median(base):.2f}): {ratio:.2f}x, medians {medians:.2f}x"
            f" (budget {BUDGET}) {verdict}"
        )
        print(f"tutor step {lesson}, whole (for the record, no budget): {whole(lesson):.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
