"""Text a user controls is printed as written, never read as Rich markup.

Lesson titles, summaries, steps, questions and answers, glossary words, folder and file names,
typed commands and a program's key names may hold `[red]` or `[/x]`: Rich would eat the first
as a style tag and die on the second (MarkupError). Each field below carries such a tag, and the
output must show it whole: screens escape what they did not write.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # no field is wrapped across lines

LESSON = """\
format = 1
id = "mini"
title = "Mini [red]title"
level = "beginner"
summary = "A lesson [red]summary."
variables = ["got", "size"]
end_note = "The [red]endnote."

[concept]
flow = ["push [red]flow", "pop"]
text = "Only [red]concept."
snapshot = ["One [red]snapshot."]

[[clients]]
name = "alice"
role = "a [red]role"

[[clients]]
name = "bob"
decode_responses = false

[[state]]
key = "jobs"

[[state]]
key = "done"

[[steps]]
actor = "alice"
action = "Alice [red]action pushes"
command = "RPUSH jobs a '[red]value'"
assign = "size"

[[steps]]
actor = "bob"
action = "Bob moves one job"
command = "LMOVE jobs done LEFT RIGHT"
assign = "got"

[[steps]]
actor = "alice"
action = "Alice reads {got!r}"
output = "got [red]output {got}"

[[moments]]
steps = [2]
question = "Why [red]question?"
answer = "Because [red]answer."

[[questions]]
id = "q1"
level = "easy"
prompt = "What [red]prompt?"
options = [
  { text = "[red]optA" },
  { text = "[red]optB", misconception = "Thinks [red]misconception" },
]
answer = "A"
hint = "A [red]hint."
solution = ["The [red]solution."]
"""

COURSE = """\
format = 1
order = ["mini"]

[[glossary]]
term = "[red]term"
means = "It [red]means."
lessons = ["mini"]
"""

CARD = ["Mini [red]title", "A lesson [red]summary.", "push [red]flow", "a [red]role"]
MOMENT = ["Why [red]question?", "Because [red]answer."]


def run(*args: str, **kwargs):
    return runner.invoke(app, list(args), env=WIDE, **kwargs)


def missing(out: str, wanted: list[str]) -> list[str]:
    return [text for text in wanted if text not in out]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A lessons folder named with markup, holding the lesson and a course file."""
    path = tmp_path / "[red]les"
    path.mkdir()
    (path / "mini.toml").write_text(LESSON)
    (path / "course.toml").write_text(COURSE)
    return path


@pytest.fixture
def lesson(folder: Path) -> Path:
    return folder / "mini.toml"


# --------------------------------------------------------------------------------------------------
# Printed as written today: these guard it.


def test_show_prints_the_card_and_moments_as_written(lesson):
    result = run("show", str(lesson), "--plain")
    assert result.exit_code == 0, result.output
    wanted = [*CARD, "Only [red]concept.", "One [red]snapshot.", *MOMENT]
    assert missing(result.stdout, wanted) == []


def test_step_piped_prints_every_field_as_written(lesson):
    result = run("step", str(lesson), "--plain")
    assert result.exit_code == 0, result.output
    wanted = [*CARD, *MOMENT, "Alice [red]action pushes", "'[red]value'", "got [red]output"]
    assert missing(result.stdout, [*wanted, "The [red]endnote."]) == []


def test_quiz_piped_prints_the_question_hint_misconception_and_typed_answer_as_written(lesson):
    # Answered A, then B: one of the two is wrong and shows its misconception.
    out = ""
    for answer in ("A", "B"):
        result = run(
            "quiz", str(lesson), "--plain", "--seed", "1", input=f"x[red]typed\nh\n{answer}\n"
        )
        assert result.exit_code == 0, result.output
        out += result.stdout
    wanted = ["What [red]prompt?", "[red]optA", "[red]optB", "A [red]hint."]
    wanted += ["Thinks [red]misconception", "Your answer: x[red]typed", "'x[red]typed' is not"]
    assert missing(out, wanted) == []


def test_export_markdown_prints_every_field_as_written(lesson):
    result = run("export", str(lesson), "--answers")
    assert result.exit_code == 0, result.output
    text = result.stdout.replace("\\[", "[").replace("\\]", "]")  # Markdown's own escapes
    wanted = [*CARD, "Only [red]concept.", "One [red]snapshot.", *MOMENT]
    wanted += ["Alice [red]action pushes", "'[red]value'", "got [red]output", "The [red]endnote."]
    wanted += ["What [red]prompt?", "[red]optA", "[red]optB", "The [red]solution."]
    assert missing(text, wanted) == []


# --------------------------------------------------------------------------------------------------

MARKUP = "the screen writes user text into a Rich markup string"


def test_check_on_a_folder_named_with_a_closing_tag_prints_its_path(tmp_path: Path):
    folder = tmp_path / "[" / "x]"  # the path reads .../[/x]: a closing tag to Rich
    folder.mkdir(parents=True)
    (folder / "mini.toml").write_text(LESSON)
    result = run("check", str(folder), "--plain")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0, result.output
    assert f"ok mini: 0 claims proven ({folder / 'mini.toml'})" in result.stdout


def test_check_prints_paths_and_errors_as_written(folder: Path):
    (folder / "bad.toml").write_text('format = 1\nid = "bad"\ntitle = 3\n')
    result = run("check", str(folder), "--plain")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert f"ok mini: 0 claims proven ({folder / 'mini.toml'})" in lines
    assert any(
        line.startswith("ok course: ") and f"({folder / 'course.toml'})" in line for line in lines
    )
    assert any(line.startswith(f"FAIL {folder / 'bad.toml'}:3: title") for line in lines), lines


def test_list_prints_a_title_as_written(folder: Path):
    result = run("list", "--plain", "--lessons-dir", str(folder))
    assert result.exit_code == 0, result.output
    assert re.search(r"\| mini\*\s+\| Mini \[red\]title", result.stdout), result.stdout


def test_quiz_piped_prints_the_solution_as_written(lesson):
    result = run("quiz", str(lesson), "--plain", "--seed", "1", input="A\n")
    assert result.exit_code == 0, result.output
    assert "The [red]solution." in result.stdout


def test_the_course_and_the_glossary_print_titles_and_words_as_written(folder: Path, monkeypatch):
    monkeypatch.setenv("TUTOR_LESSONS_DIR", str(folder))
    course = run()
    assert course.exit_code == 0, course.output
    glossary = run("glossary", "--plain")
    assert glossary.exit_code == 0, glossary.output
    assert "Mini [red]title" in course.stdout
    assert "[red]term" in glossary.stdout and "It [red]means." in glossary.stdout


PROGRAM = """\
import threading
import redis

r = redis.Redis(decode_responses=True)
r.rpush("[red]key", "[red]val")


def listen():
    pubsub = r.pubsub()
    pubsub.subscribe("[red]ch")
    for message in pubsub.listen():
        if message["type"] == "message":
            return


listener = threading.Thread(target=listen, name="[red]thread")
listener.start()
r.publish("[red]ch", "[red]msg")
listener.join()
"""


def test_trace_prints_the_programs_names_and_values_as_written(tmp_path: Path):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    result = run("trace", str(script), "--plain")
    assert result.exit_code == 0, result.output
    out = result.stdout
    heard = out[out.index("What each listener received") : out.index("Keys at the end")]
    keys = out[out.index("Keys at the end") :]
    tracker = out[out.index("Variable tracker") : out.index("What each listener received")]
    assert re.search(r"\| \[red\]thread\s+\| \[red\]ch\s+\| '\[red\]msg'", heard), heard
    assert re.search(r"\| \[red\]key\s+\| list\s+\| \['\[red\]val'\]", keys), keys
    assert re.search(r"\| \[red\]key\s+\|", tracker), tracker


def test_sandbox_prints_typed_names_and_the_undone_line_as_written():
    result = run("sandbox", "--plain", input="RPUSH [red]k v\nLLEN [red]k\nundo\n")
    assert result.exit_code == 0, result.output
    live = result.stdout[result.stdout.rindex("Live view") :]
    assert re.search(r"\| \[red\]k\s+\| list", live), live
    assert "Undone: LLEN [red]k (" in result.stdout
