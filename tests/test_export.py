"""Handouts: Markdown checked as text, HTML as text and in a headless Chromium, SVG as text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from tests.conftest import missing

runner = CliRunner()


def export(tmp_path: Path, *args: str, name: str = "handout.md") -> tuple[str, object]:
    out = tmp_path / name
    result = runner.invoke(app, ["export", *args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8"), result


def test_markdown_has_every_step_the_tracker_moments_and_the_quiz(tmp_path, backend_spec):
    text, result = export(tmp_path, "queue", "--backend", backend_spec)
    assert "Wrote" in result.output
    assert [int(n) for n in re.findall(r"^### Step (\d) of 7", text, re.M)] == list(range(1, 8))
    assert (
        "| **3** | Consumer pops a task | `RPOP queue` | `\"task1\"` | `['task2']` | `'task1'` |"
        in text
    )
    assert text.count("*Variable tracker*") == 7
    assert "| task | `None` | `None` | `None` | `'task1'` |" in text
    assert "> **Key moment: What is the number LPUSH answers?**" in text
    assert "## Quiz" in text and "- A) 'task1'" in text
    assert "Answer:" not in text  # no answers without --answers
    assert "\x1b[" not in text


def test_answers_under_each_question(tmp_path):
    text, _ = export(tmp_path, "queue", "--answers")
    assert "## Quiz, with answers" in text
    assert text.count("**Answer: ") == 12
    assert "**Answer: C)** 'task1'" in text
    assert "1. After step 2 the queue is \\['task2', 'task1'\\] (head on the left)." in text


def test_the_same_handout_from_both_backends(tmp_path, redis_server):
    def body(spec: str) -> str:
        text, _ = export(tmp_path, "pubsub-vs-queue", "--backend", spec)
        return re.sub(r"handout from a run on .*", "", text)

    fake, real = body("fake"), body(redis_server.url)
    assert fake == real
    assert "## Comparison, from this run" in fake
    assert "tutor:{" not in real  # keys are shown by their short names


def test_markdown_to_standard_output():
    result = runner.invoke(app, ["export", "queue-rpush"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# ") and "### Step 8 of 8" in result.stdout


def test_html_and_svg_through_richs_exporters(tmp_path):
    html, _ = export(tmp_path, "queue", name="h.html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>A Redis list as a task queue (LPUSH + RPOP) (handout)</title>" in html
    assert "Execution table" in html and "Variable tracker" in html
    svg, _ = export(tmp_path, "queue", "--format", "svg", name="h.out")
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "Execution&#160;table" in svg
    plain, _ = export(tmp_path, "queue", "--plain", name="p.html")
    assert "╭" not in plain and "+-" in plain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["queue", "--output", "x.txt"], "cannot tell the format"),
        (["queue", "--format", "pdf"], "unknown format 'pdf'"),
        (["queue", "--output", "/no/such/folder/h.md"], "no such folder"),
        (["nope", "--format", "md"], "nope"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, ["export", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------------------------------
# A real browser


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium is not installed (apt-get install -y chromium)")
    assert found is not None
    return found


def browse(*args: str) -> subprocess.CompletedProcess[str]:
    # Without the background-networking flags Chromium reaches for the network, closed here.
    with tempfile.TemporaryDirectory(prefix="tutor-chromium-") as profile:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"]
            + ["--no-first-run", "--disable-background-networking", "--disable-component-update"]
            + ["--disable-sync", f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=90,
            env={**os.environ, "HOME": profile},
        )


def test_html_handout_opens_in_headless_chromium(tmp_path):
    chromium()
    export(tmp_path, "queue", name="h.html")
    page = (tmp_path / "h.html").as_uri()
    dom = browse("--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>A Redis list as a task queue (LPUSH + RPOP) (handout)</title>" in dom.stdout
    for text in ("Execution table", "Variable tracker", "LPUSH queue 'task1'", "RPOP queue"):
        assert text in dom.stdout.replace("&#x27;", "'").replace("&#39;", "'"), text
    assert "(integer) 2" in dom.stdout and "Why does the producer push with LPUSH" in dom.stdout

    # It renders: the screenshot of the handout holds far more than the one of an empty page.
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>")
    shots = {}
    for name, url in (("handout", page), ("empty", empty.as_uri())):
        shot = tmp_path / f"{name}.png"
        done = browse(f"--screenshot={shot}", "--window-size=1000,1400", url)
        assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shots[name] = shot.stat().st_size
    assert shots["handout"] > 10 * shots["empty"]
