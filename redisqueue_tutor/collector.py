"""The cyclic garbage collector, held off while the tutor makes objects that are not garbage.

Start-up imports make some 200,000 objects (Typer, Rich, pydantic, redis-py, fakeredis) that live
as long as the process, and the collector walks them again and again while they are being made:
a tenth of a piped lesson's time. A traced run's steps are the same (modes/trace/parent.py). So
the collector is off while something holds it; every hold that ends freezes what exists
(gc.freeze: never walked again, or the collector's first pass would walk it all at once), and the
last one turns the collector back on. Start-up's hold ends on its own after STARTUP seconds: a
command done by then never paid for a collection; one that runs on (a lesson at a person's pace,
a long check) collects as usual from then on.

At exit the interpreter runs one last collection over every object it has: a fifth of a short
command's time, to free memory the system takes back anyway. The tutor freezes everything first
(skip_last_collection), so that pass finds nothing to walk; its files are closed by their own
`with` blocks, never left to the collector.
"""

from __future__ import annotations

import atexit
import gc
import threading

STARTUP = 1.0  # seconds
_lock = threading.Lock()
_holds = [0]  # holds not yet released


def hold() -> None:
    """Keep the collector off until the matching release()."""
    with _lock:
        _holds[0] += 1
        gc.disable()


def release() -> None:
    """End one hold: what exists now is frozen; the last hold turns the collector back on."""
    with _lock:
        _holds[0] = max(0, _holds[0] - 1)
        gc.freeze()
        if not _holds[0]:
            gc.enable()


def hold_for_startup(seconds: float = STARTUP) -> None:
    """Hold the collector off for the next `seconds`: the command line's imports and set-up."""
    hold()
    timer = threading.Timer(seconds, release)
    timer.daemon = True  # never keeps the tutor from ending
    timer.start()


def skip_last_collection() -> None:
    """For the tutor's own process: the interpreter's collection at exit walks nothing."""
    atexit.register(gc.freeze)
