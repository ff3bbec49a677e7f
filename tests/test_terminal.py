"""The installed `tutor` in a real pseudo-terminal, stepped as a person would."""

from __future__ import annotations

import os

import pytest

from tests.conftest import installed_tutor, required_module

pexpect = required_module("pexpect")

pytestmark = pytest.mark.terminal


def spawn(*args: str):
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "60"}
    env.pop("NO_COLOR", None)
    # A frame cut short by Ctrl-C may end inside a character: replace it rather than fail to read
    # the lines that follow ("Interrupted.").
    return pexpect.spawn(
        installed_tutor(),
        list(args),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        timeout=15,
        dimensions=(60, 100),
    )


def test_step_forward_back_jump_and_quit_in_a_terminal():
    child = spawn("step", "queue")
    child.expect("A Redis list as a task queue")  # the concept card comes first
    child.expect("Enter/→ step 1")
    child.send("\r")
    child.expect("Step 1 of 7")
    child.expect("Enter/→ next")
    child.send("\r")
    child.expect("Step 2 of 7")
    child.send("\x1b[C")  # right arrow
    child.expect("Step 3 of 7")
    child.expect("Why does the producer push with LPUSH")  # the key moment of step 3
    child.send("\x1b[D")  # left arrow: exactly the earlier screen
    child.expect("Step 2 of 7")
    child.expect("What is the number LPUSH answers")
    child.send("7")
    child.expect("Jump to step 7_")
    child.send("\r")
    child.expect("Step 7 of 7")
    child.send("\r")
    child.expect("The end of the lesson")
    child.expect("tutor quiz queue")  # what comes next
    child.send("4\r")  # typed fast: both keys arrive in one read
    child.expect("Step 4 of 7")
    child.send("7\r")
    child.expect("Step 7 of 7")
    child.send("?")
    child.expect("jump to step 3")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_exits_130_without_a_traceback():
    child = spawn("step", "queue")
    child.expect("step 1")
    child.send("\r")
    child.expect("Step 1 of 7")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 130


def test_ctrl_c_during_pubsub_stops_the_listener_threads_and_exits_130():
    child = spawn("step", "pubsub")
    child.expect("step 1")
    child.send("\r")
    child.expect("Step 1 of 9")
    for number in (2, 3):
        child.send("\r")
        child.expect(f"Step {number} of 9")
    child.expect("listener receives")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 130
