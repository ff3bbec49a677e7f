"""The garbage collector held off while the tutor makes what is not garbage (collector.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import time

import pytest

from redisqueue_tutor import collector


@pytest.fixture(autouse=True)
def _collector_back_on():
    try:
        yield
        deadline = time.monotonic() + 5
        while collector._holds[0] and time.monotonic() < deadline:
            time.sleep(0.01)  # a start-up hold ends on its timer
        assert collector._holds[0] == 0, "a hold was never released"
        assert gc.isenabled()
    finally:
        collector._holds[0] = 0
        gc.enable()
        gc.unfreeze()


def test_holds_nest_and_the_last_release_turns_it_on_with_what_exists_frozen():
    frozen = gc.get_freeze_count()
    collector.hold()
    collector.hold()
    assert not gc.isenabled()
    kept = [[] for _ in range(100)]
    collector.release()
    assert not gc.isenabled()  # one hold is left
    collector.release()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept)


def test_start_up_hold_ends_by_itself():
    collector.hold_for_startup(0.05)
    assert not gc.isenabled()
    deadline = time.monotonic() + 5
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gc.isenabled()


def test_the_start_up_hold_never_keeps_the_tutor_from_ending():
    code = (
        "import gc\n"
        "from redisqueue_tutor import collector\n"
        "collector.hold_for_startup(60)\n"
        "print(gc.isenabled())\n"
    )
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=True
    )
    assert out.stdout.split() == ["False"]
    assert time.monotonic() - started < 30  # not the 60 s of its timer
