"""The installed `tutor sandbox` and `tutor present` in a real pseudo-terminal."""

from __future__ import annotations

import time

import pytest

from tests.conftest import required_module
from tests.test_terminal import spawn

pexpect = required_module("pexpect")

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


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real)])
def sandbox_args(request: pytest.FixtureRequest) -> list[str]:
    # --plain: no colour codes between the words the test reads.
    if request.param == "fake":
        return ["sandbox", "--plain"]
    return ["sandbox", "--plain", "--backend", request.getfixturevalue("redis_server").url]


def _wait_then_interrupt(child, line: str) -> None:
    """Send a blocking command, let it wait on Redis, then press Ctrl-C."""
    child.send(line + "\r")
    # Still waiting: no table and no error before the interrupt (the wait is 8 s).
    assert child.expect([pexpect.TIMEOUT, "Execution table", "Error"], timeout=1.0) == 0
    child.sendintr()
    child.expect("Stopped waiting: ")
    child.expect("was cancelled with Ctrl-C")
    child.expect("sandbox> ")


def test_ctrl_c_cancels_a_blocking_wait_and_the_session_goes_on(sandbox_args):
    child = spawn(*sandbox_args)
    child.expect("sandbox> ")
    started = time.monotonic()
    _wait_then_interrupt(child, "BRPOP queue 8")
    assert time.monotonic() - started < 6  # the wait did not run to its 8 s
    child.send("XGROUP CREATE events workers $ MKSTREAM\r")
    child.expect("OK")
    child.expect("sandbox> ")
    started = time.monotonic()
    _wait_then_interrupt(child, "XREADGROUP GROUP workers c1 BLOCK 8000 STREAMS events >")
    assert time.monotonic() - started < 6
    # The cancelled XREADGROUP took nothing: the entry added next is still new to the group.
    child.send("XADD events 1-1 task a\r")
    child.expect("sandbox> ")
    child.send("XREADGROUP GROUP workers c2 COUNT 1 STREAMS events >\r")
    child.expect(r"task=a")  # the live view
    child.expect(r"group workers: read up to 1-1, 1 entry pending \(c2: 1\)")
    child.expect("sandbox> ")
    # The cancelled BRPOP is gone from Redis: it does not take what is pushed next.
    child.send("LPUSH queue a\r")
    child.expect(r"\(integer\) 1")
    child.expect("sandbox> ")
    child.send("LLEN queue\r")
    child.expect("Live view")
    child.expect(r"\| queue\s+\| list\s+\| \['a'\]")  # still there, in Redis
    child.expect("sandbox> ")
    child.send("history\r")
    child.expect("1  XGROUP CREATE events workers")  # the cancelled commands are not there
    child.expect("4  LPUSH queue a")
    child.expect("sandbox> ")
    child.sendintr()  # at the prompt Ctrl-C still ends the sandbox
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 130


def test_sandbox_keeps_a_typed_password_out_of_the_recalled_lines():
    child = spawn("sandbox")
    child.expect("sandbox> ")
    child.send("LPUSH queue a\r")
    child.expect(r"\(integer\) 1")
    child.expect("sandbox> ")
    child.send("AUTH hunter2-Secret\r")
    child.expect("AUTH is refused in the sandbox")
    child.expect("sandbox> ")
    child.send("\x1b[A")  # ↑ recalls the line before the password, as redis-cli does
    child.expect("LPUSH queue a")
    assert "hunter2" not in child.before
    child.send("\x15")  # Ctrl-U clears the recalled line
    child.send("history\r")
    child.expect("1  LPUSH queue a")
    child.expect("sandbox> ")
    assert "hunter2" not in child.before
    child.send("quit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
