"""Handouts: Markdown checked as text, HTML as text and in a headless Chromium, SVG as text."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.handout import Format, Handout, render_handout
from tests.conftest import golden, missing

runner = CliRunner()


def export(tmp_path: Path, *args: str, name: str = "handout.md") -> tuple[str, object]:
    out = tmp_path / name
    result = runner.invoke(app, ["export", *args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8"), result


# --------------------------------------------------------------------------------------------------
# Reading the quiz back out of a handout, as a student or a teacher would read the page

Printed = dict[int, dict[str, str]]  # question number -> letter -> option text
Answered = dict[int, tuple[str, str]]  # question number -> (letter, answer text) in the key


def _unescape_md(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def markdown_quiz(text: str) -> tuple[Printed, Answered]:
    quiz, _, key = text.partition("## Answer key")
    quiz = quiz[quiz.index("## Quiz") :]
    printed: Printed = {}
    number = 0
    for line in quiz.splitlines():
        if found := re.match(r"^\*\*(\d+)\. ", line):
            number = int(found.group(1))
            printed[number] = {}
        elif found := re.match(r"^- ([A-F])\) (.*)$", line):
            printed[number][found.group(1)] = _unescape_md(found.group(2))
    answered: Answered = {}
    for found in re.finditer(r"^\*\*(\d+)\. ([A-F])\) (.*)\*\*$", key, re.M):
        answered[int(found.group(1))] = (found.group(2), _unescape_md(found.group(3)))
    return printed, answered


def html_lines(page: str) -> tuple[list[str], list[str]]:
    """The handout's lines, and the answer key's (the <pre> on a page of its own)."""
    body, _, key = page.partition('<pre class="answer-key">')

    def lines(part: str) -> list[str]:
        return html.unescape(re.sub(r"<[^>]+>", "", part)).splitlines()

    return lines(body), lines(key)


def svg_lines(svg: str) -> list[str]:
    """The lines of Rich's SVG: each <text> is a run of cells placed at x on one clipped line."""
    pattern = (
        r'<text [^>]*x="([\d.]+)"[^>]*textLength="([\d.]+)"'
        r'[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>([^<]*)</text>'
    )
    rows: dict[int, dict[int, str]] = {}
    for found in re.finditer(pattern, svg):
        text = html.unescape(found.group(4)).replace("\xa0", " ")
        cell = float(found.group(2)) / len(text)  # every cell has the same width
        column = round(float(found.group(1)) / cell)
        line = rows.setdefault(int(found.group(3)), {})
        for offset, char in enumerate(text):
            line[column + offset] = char
    return [
        "".join(line.get(i, " ") for i in range(max(line) + 1))
        for _row, line in sorted(rows.items())
    ]


def screen_quiz(lines: list[str]) -> tuple[Printed, Answered]:
    """The quiz panels ("1. easy" titles, "B) text" lines) and the key ("1. B) text") of a page."""
    printed: Printed = {}
    answered: Answered = {}
    number, in_key = 0, False
    for line in lines:
        if re.search(r"Answer key \(version \d+\)", line):
            in_key = True
        elif not in_key and (found := re.search(r"[╭+][─-] (\d+)\. (easy|medium|hard) ", line)):
            number = int(found.group(1))
            printed[number] = {}
        elif (
            not in_key and number and (found := re.match(r"^[│|]\s+([A-F])\) (.*?)\s*[│|]$", line))
        ):
            printed[number][found.group(1)] = found.group(2)
        elif in_key and (found := re.match(r"^\s*(\d+)\. ([A-F])\) (.*?)\s*$", line)):
            answered[int(found.group(1))] = (found.group(2), found.group(3))
    return printed, answered


def _handouts(lesson_id: str, answers: bool) -> dict[Format, str]:
    lesson = find_lesson(lesson_id)
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    handout = Handout(lesson, start, tuple(records), "fake", answers=answers)
    # Wide pages, so no option wraps and each reads back on one line.
    return {fmt: render_handout(handout, fmt, width=200) for fmt in Format}


def _read_back(fmt: Format, text: str) -> tuple[Printed, Answered]:
    if fmt is Format.md:
        return markdown_quiz(text)
    if fmt is Format.html:
        body, key = html_lines(text)
        return screen_quiz(body + key)
    return screen_quiz(svg_lines(text))


LESSON_IDS = sorted(discover())


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_no_handout_puts_every_answer_at_one_letter(lesson_id):
    lesson = find_lesson(lesson_id)
    for fmt, text in _handouts(lesson_id, answers=False).items():
        printed, answered = _read_back(fmt, text)
        assert not answered
        assert len(printed) == len(lesson.questions), fmt
        letters = []
        for number, question in enumerate(lesson.questions, start=1):
            options = printed[number]
            assert sorted(options.values()) == sorted(o.text for o in question.options), fmt
            letters += [letter for letter, text in options.items() if text == question.key.text]
        assert len(letters) == len(lesson.questions)
        if len(letters) >= 2:
            assert len(set(letters)) > 1, f"{lesson_id} {fmt}: every answer is {letters[0]}"


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_the_answer_keys_letters_are_the_printed_ones(lesson_id):
    lesson = find_lesson(lesson_id)
    plain = _handouts(lesson_id, answers=False)
    for fmt, text in _handouts(lesson_id, answers=True).items():
        printed, answered = _read_back(fmt, text)
        assert printed == _read_back(fmt, plain[fmt])[0], fmt  # the same options, same letters
        assert sorted(answered) == list(range(1, len(lesson.questions) + 1)), fmt
        for number, question in enumerate(lesson.questions, start=1):
            letter, answer = answered[number]
            assert answer == question.key.text, (fmt, number)
            assert printed[number][letter] == question.key.text, (fmt, number)


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
    assert "## Quiz" in text and re.search(r"^- [A-F]\) 'task1'$", text, re.M)
    assert "Answer" not in text  # no answers without --answers
    assert "\x1b[" not in text


def test_answers_come_as_a_key_after_the_quiz_with_the_printed_letters(tmp_path):
    plain, _ = export(tmp_path, "queue", name="plain.md")
    text, result = export(tmp_path, "queue", "--answers")
    assert "with the answer key" in result.output and "version 1" in result.output
    quiz, key = text.split("## Answer key (version 1)\n")
    assert quiz.rstrip() == plain.rstrip()  # the same handout, the key after it
    assert "Answer" not in quiz
    assert len(re.findall(r"^\*\*\d+\. [A-F]\) ", key, re.M)) == 12
    assert "1. After step 2 the queue is \\['task2', 'task1'\\] (head on the left)." in key
    printed, answered = markdown_quiz(text)
    lesson = find_lesson("queue")
    assert len(printed) == len(answered) == len(lesson.questions)
    for number, question in enumerate(lesson.questions, start=1):
        letter, answer = answered[number]
        assert answer == question.key.text
        assert printed[number][letter] == question.key.text  # the key's letter is the printed one


def test_seed_makes_another_version_and_repeats_it(tmp_path):
    one, _ = export(tmp_path, "queue", "--seed", "1", name="1.md")
    again, _ = export(tmp_path, "queue", name="again.md")
    other, _ = export(tmp_path, "queue", "--seed", "2", name="2.md")
    assert one == again  # the default is seed 1: the handout and its key agree without --seed
    assert markdown_quiz(one)[0] != markdown_quiz(other)[0]
    assert "*Version 2*" in other


def test_the_same_golden_handout_from_both_backends(tmp_path, backend_spec):
    # The same golden text on both backends: equal, and not equally wrong.
    text, _ = export(tmp_path, "pubsub-vs-queue", "--backend", backend_spec)
    body = re.sub(r"handout from a run on .*", "handout from a run on BACKEND", text)
    golden("export-pubsub-vs-queue.md", body)
    assert "## Comparison, from this run" in body
    assert "tutor:{" not in body  # keys are shown by their short names


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
            check=False,
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
    assert '<pre class="answer-key">' not in dom.stdout  # no key without --answers

    # With --answers the key is a <pre> of its own that the stylesheet starts on a new page.
    export(tmp_path, "queue", "--answers", name="key.html")
    keyed = browse("--dump-dom", (tmp_path / "key.html").as_uri())
    assert keyed.returncode == 0, keyed.stderr[-2000:]
    body, _, key = keyed.stdout.partition('<pre class="answer-key">')
    assert "Answer key (version 1)" in key and "Answer key" not in body
    assert re.search(r"\.answer-key \{ break-before: page;", body)
    assert "Why does the producer push with LPUSH" in body

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
