"""Timing a command against its baseline in the same run, for the start-up benchmarks.

Runs alternate so that the machine's noise hits both sides alike, after one warm-up of each (the
file cache). The verdict compares each side's best time, since noise on a shared machine only
ever adds time; the ratio of the medians is given beside it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Paired:
    mine: list[float]  # seconds, each run
    base: list[float]

    @property
    def ratio(self) -> float:
        return min(self.mine) / min(self.base)

    @property
    def medians(self) -> float:
        return statistics.median(self.mine) / statistics.median(self.base)


def paired(ours: Callable[[], float], baseline: Callable[[], float], runs: int) -> Paired:
    """`ours` and `baseline` (each runs once and says how long it took), `runs` times each."""
    ours(), baseline()  # warm the file cache
    mine, base = [], []
    for _ in range(runs):
        mine.append(ours())
        base.append(baseline())
    return Paired(mine, base)
