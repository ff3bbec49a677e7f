"""The installed `tutor sandbox` and `tutor present` in a real pseudo-terminal."""

from __future__ import annotations

import pytest

from tests.test_terminal import spawn

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.terminal


def test_sandbox_prompt_with_tab_completion_history_and_undo():
    child = spawn("sandbox")
    child.expect("sandbox> ")
    child.send("LPUSH queue a\r")
    child.expect(r"\(integer\) 1")
    child.expect("Live view")
    child.expect("sandbox> ")
    child.send("\x1b[A")  # ↑ recalls the last line
    child.expect("LPUSH queue a")
    child.send("\r")
    child.expect(r"\(integer\) 2")
    child.expect("sandbox> ")
    child.send("lle\t")  # Tab completes the command name, in the case typed
    child.expect("llen ")
    child.send("queue\r")
    child.expect(r"\| llen queue|LLEN queue")
    child.expect(r"\(integer\) 2")
    child.expect("sandbox> ")
    child.send("FLUSHALL\r")
    child.expect("FLUSHALL is refused in the sandbox")
    child.expect("sandbox> ")
    child.send("undo\r")
    child.expect("Undone: llen queue")
    child.expect("sandbox> ")
    child.send("quit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_sandbox_ctrl_c_and_ctrl_d():
    child = spawn("sandbox")
    child.expect("sandbox> ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 130
    child = spawn("sandbox")
    child.expect("sandbox> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_present_one_key_per_screen():
    child = spawn("present", "queue", "--notes")
    child.expect("A Redis list as a task queue")  # the title slide
    child.send(" ")
    child.expect("Step 1 of 7")
    child.expect("result hidden")
    child.expect("Ask the class")
    assert "Speaker notes" not in child.before  # not before the reveal
    child.send(" ")
    child.expect(r"\(integer\) 1")
    child.expect("Speaker notes")
    child.send("\x1b[6~")  # a clicker's Page Down
    child.expect("Step 2 of 7")
    child.send(" ")
    child.expect("What will RPOP queue return")  # the lesson's ask for step 3, result hidden
    child.send("b")
    child.expect("Step 2 of 7")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_present_ctrl_c_exits_130():
    child = spawn("present", "pubsub")
    child.expect("Pub/sub")
    child.send(" ")
    child.expect("Step 1 of 9")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 130
