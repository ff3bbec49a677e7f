"""Every screen of every lesson fits the terminal it is drawn in, in a real terminal (tmux).

At 80x24 (the common size) and 60x20, the header (`Step N of M`) and the current row stay on
screen at every step, no line runs past the right edge, and the keys are shown on the last line.
A learner who lingers on the blocked BRPOP sees the same story as one who hurries on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from redisqueue_tutor.lessons import discover, find_lesson
from tests.conftest import installed_tutor, missing

pytestmark = pytest.mark.terminal

LESSONS = sorted(discover())


class Tmux:
    """A tmux server of our own (its own socket), one window running the installed tutor."""

    def __init__(self, width: int, height: int, args: list[str], data: Path) -> None:
        binary = shutil.which("tmux")
        if binary is None:
            missing("tmux is not installed (apt-get install -y tmux)")
        assert binary is not None
        self.base = [binary, "-L", f"tutor-test-{uuid.uuid4().hex[:8]}", "-f", os.devnull]
        command = " ".join([installed_tutor(), *args])
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(data),
            "TERM": "xterm-256color",
            "TUTOR_DATA_DIR": str(data),
            "TUTOR_CACHE_DIR": str(data / "cache"),
            "LANG": "C.UTF-8",
        }
        # Only these variables: whatever the test run has (COLUMNS, NO_COLOR, ...) stays out.
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # A detached session gets its size a moment after it starts: wait for the terminal to
        # have it before the tutor draws its first screen.
        wait = f'until [ "$(stty size)" = "{height} {width}" ]; do sleep 0.02; done'
        self.run(
            "new-session", "-d", "-x", str(width), "-y", str(height),
            f"{wait}; env -i {exports} {command}; sleep 30",
        )  # fmt: skip
        self.width, self.height = width, height

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def screen(self) -> list[str]:
        return self.run("capture-pane", "-p").rstrip("\n").split("\n")

    def wait_for(self, pattern: str, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            lines = self.screen()
            if any(regex.search(line) for line in lines):
                time.sleep(0.05)  # let the frame finish drawing
                return self.screen()
            time.sleep(0.03)
        raise AssertionError(f"{pattern!r} never appeared:\n" + "\n".join(self.screen()))

    def close(self) -> None:
        self.run("kill-server")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[callable]:
    opened: list[Tmux] = []

    def open_(width: int, height: int, *args: str) -> Tmux:
        tmux = Tmux(width, height, list(args), tmp_path)
        opened.append(tmux)
        return tmux

    yield open_
    for tmux in opened:
        tmux.close()


def assert_fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines), "\n".join(lines)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (60, 20)], ids=["80x24", "60x20"])
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_step_keeps_its_header_and_current_row_on_screen(terminal, lesson_id, width, height):
    total = len(find_lesson(lesson_id).steps)
    tmux = terminal(width, height, "step", lesson_id)
    card = tmux.wait_for("step 1")
    assert_fits(card, width, height)
    for number in range(1, total + 1):
        tmux.keys("Enter")
        lines = tmux.wait_for(rf"^Step {number} of {total}\b")
        assert_fits(lines, width, height)
        text = "\n".join(lines)
        assert re.search(rf"▶\s*{number}\b", text), text  # the current row
        assert "q quit" in lines[-1] or "The end" in lines[-1], text  # the keys, last
        assert not re.search(r"Make the terminal at least", text)
    tmux.keys("Enter")  # the closing page
    lines = tmux.wait_for("The end")
    assert_fits(lines, width, height)


def test_a_learner_who_lingers_on_the_blocked_step_sees_the_task_arrive(terminal):
    tmux = terminal(80, 24, "step", "blocking")
    tmux.wait_for("step 1")
    tmux.keys("2", "Enter")
    tmux.wait_for(r"^Step 2 of")
    time.sleep(3.5)  # longer than the 3 s the lesson's BRPOP used to wait
    tmux.keys("Enter")
    text = "\n".join(tmux.wait_for(r"^Step 3 of"))
    assert "task = ('queue', 'task1')" in text, text  # the tracker: the push woke the consumer


def test_a_screen_too_small_says_how_big_it_must_be(terminal):
    tmux = terminal(50, 12, "step", "queue")
    tmux.wait_for("step 1")
    tmux.keys("Enter")
    text = "\n".join(tmux.wait_for("Make the terminal at least"))
    assert re.search(r"at least 60×\d+ \(it is 50×12\)", text)


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_presenter_screen_keeps_the_big_panel_at_80x24(terminal, lesson_id):
    from redisqueue_tutor.modes.present import beats

    lesson = find_lesson(lesson_id)
    plan = beats(lesson)
    tmux = terminal(80, 24, "present", lesson_id, "--notes")
    assert_fits(tmux.wait_for("Enter/space next"), 80, 24)  # the title slide
    for beat in plan:
        tmux.keys("Space")
        hidden = "  ·  result hidden" if not beat.reveal else "  ·  (?!result hidden)"
        lines = tmux.wait_for(rf"^Step {beat.step} of {len(lesson.steps)}{hidden}")
        assert_fits(lines, 80, 24)
        text = "\n".join(lines)
        actor = lesson.steps[beat.step - 1].actor
        assert re.search(rf"╭─ {actor}: ", text), text  # the big panel, whole
        assert "Enter/space next" in lines[-1], text
        if not beat.reveal:
            assert "Speaker notes" not in text


def test_auto_play_listens_to_space_arrows_and_q(terminal):
    tmux = terminal(80, 24, "step", "queue", "--auto", "--delay", "0.4")
    tmux.wait_for(r"^Step 2 of 7")  # it plays by itself
    tmux.keys("Space")
    lines = tmux.wait_for("Paused")
    assert "space resume" in lines[-1]
    paused_at = next(line for line in lines if line.startswith("Step "))
    time.sleep(1.2)
    assert paused_at in tmux.screen()  # stays put while paused
    tmux.keys("Right")
    number = int(paused_at.split()[1]) + 1
    tmux.wait_for(rf"^Step {number} of 7")
    tmux.keys("q")
    deadline = time.monotonic() + 10
    while tmux.run("display", "-p", "#{pane_current_command}").strip() != "sleep":
        assert time.monotonic() < deadline, "q did not end the auto-play"
        time.sleep(0.05)


def test_a_resized_terminal_is_redrawn_at_its_new_size(terminal):
    tmux = terminal(120, 40, "step", "queue")
    tmux.wait_for("step 1")
    tmux.keys("3", "Enter")
    wide = tmux.wait_for(r"^Step 3 of 7")
    assert any("Redis Command" in line for line in wide)  # the wide table
    tmux.run("resize-window", "-x", "60", "-y", "20")
    deadline = time.monotonic() + 10
    while True:
        lines = tmux.screen()
        if not any("Redis Command" in line for line in lines) and any(
            line.startswith("Step 3 of 7") for line in lines
        ):
            break
        assert time.monotonic() < deadline, "\n".join(lines)
        time.sleep(0.05)
    time.sleep(0.1)
    assert_fits(tmux.screen(), 60, 20)
