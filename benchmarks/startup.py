"""Start-up budgets of issue 2, measured as ratios against a baseline app in the same run.

    python benchmarks/startup.py [--runs 15]

- `tutor list` against the baseline Typer + Rich app: budget 1.15; `tutor` alone (the course): 1.2.
- `tutor step queue`, piped, against the baseline that also imports fakeredis and runs one LPUSH:
  budget 1.3.
Runs are interleaved so that machine noise hits both sides alike. The verdict compares the best
(minimum) time of each side: noise on a shared machine only ever adds time, so the minimum is the
most repeatable figure; medians are printed beside it. Measure an installed tutor (`pip install .`),
as users run it: an editable install adds import-path lookups to every start.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from paired import paired

HERE = Path(__file__).resolve().parent
PY = sys.executable
TUTOR = [PY, "-m", "redisqueue_tutor"]

PAIRS = {
    "tutor list": ([*TUTOR, "list"], [PY, str(HERE / "baseline_app.py")], 1.15),
    "tutor step queue (piped)": (
        [*TUTOR, "step", "queue"],
        [PY, str(HERE / "baseline_app.py"), "--fakeredis"],
        1.3,
    ),
    "tutor --help": ([*TUTOR, "--help"], [PY, str(HERE / "baseline_app.py")], None),
    # The course (progress and the lesson summaries): what `tutor` alone shows, like `tutor list`.
    "tutor (the course)": (TUTOR, [PY, str(HERE / "baseline_app.py")], 1.2),
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    failed = False
    for name, (ours, baseline, budget) in PAIRS.items():
        pair = paired(partial(timed, ours), partial(timed, baseline), args.runs)
        mine, base, ratio, median_ratio = pair.mine, pair.base, pair.ratio, pair.medians
        verdict = "" if budget is None else ("ok" if ratio <= budget else "OVER BUDGET")
        limit = "" if budget is None else f" (budget {budget})"
        print(
            f"{name:<26} best {min(mine) * 1000:4.0f} ms, baseline {min(base) * 1000:4.0f} ms:"
            f" ratio {ratio:.2f}{limit} {verdict}  [medians: {median_ratio:.2f}]"
        )
        failed |= verdict == "OVER BUDGET"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
