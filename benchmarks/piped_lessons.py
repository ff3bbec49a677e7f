"""Every lesson run piped (`tutor step NAME | cat`), against the minimal Typer + fakeredis app.

    python benchmarks/piped_lessons.py              # every lesson of the course, 11 pairs each
    python benchmarks/piped_lessons.py --pairs 21 queue compare

The baseline is benchmarks/baseline_app.py --fakeredis: a Typer command that imports fakeredis,
runs one LPUSH and prints a five-row Rich table. Each lesson is timed as a whole process, in pairs
(lesson, baseline, baseline, lesson, ...) so that a machine whose speed drifts moves both sides;
the verdict is the median of the pairs' ratios. Budget (issue 15): within 1.3x.

A lesson whose command waits in Redis on purpose (blocking's BRPOP that answers nil when its
one-second timeout passes) is compared without that wait: the seconds its lesson file blocks for
are taken off its time, and the line says how many.
Measure an installed tutor (`pip install .`), as users run it.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
LESSONS = HERE.parent / "lessons"
BUDGET = 1.3
BASELINE = [sys.executable, str(HERE / "baseline_app.py"), "--fakeredis"]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def waits(name: str) -> float:
    """Seconds the lesson's own commands block in Redis (a BRPOP's timeout that passes)."""
    from redisqueue_tutor.keyspace.blocking import blocking_seconds
    from redisqueue_tutor.lessons.loading import find_lesson

    total = 0.0
    for step in find_lesson(name).steps:
        if step.command is None or step.background:
            continue  # a background command is woken by a later step: it holds nothing up
        total += blocking_seconds(shlex.split(step.command)) or 0.0
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson names (default: the whole course)")
    parser.add_argument("--pairs", type=int, default=11)
    options = parser.parse_args()
    names = options.lessons or tomllib.loads((LESSONS / "course.toml").read_text())["order"]
    over = False
    for name in names:
        lesson = [sys.executable, "-m", "redisqueue_tutor", "step", name]
        waited = waits(name)
        timed(lesson), timed(BASELINE)  # warm the file cache
        ratios, mine, base = [], [], []
        for index in range(options.pairs):
            order = [(lesson, mine), (BASELINE, base)]
            if index % 2:
                order.reverse()
            for command, times in order:
                times.append(timed(command))
            ratios.append((mine[-1] - waited) / base[-1])
        ratio = statistics.median(ratios)
        over |= ratio > BUDGET
        note = f" (less its {waited:g} s wait in Redis)" if waited else ""
        print(
            f"{name:>16}: {statistics.median(mine) * 1000:5.0f} ms{note}, baseline"
            f" {statistics.median(base) * 1000:4.0f} ms: {ratio:.2f}x"
            f" ({'within' if ratio <= BUDGET else 'OVER'} the {BUDGET}x budget)"
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
