"""`tutor quiz`, `tutor progress` and `tutor reset` as a learner uses them: piped, and once in a
real terminal."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.lessons.generated import quiz_pool
from redisqueue_tutor.lessons.quiz import select
from redisqueue_tutor.progress import ENV_DATA_DIR
from redisqueue_tutor.run.backend import running
from tests.conftest import installed_tutor, required_module

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(ENV_DATA_DIR, str(folder))
    monkeypatch.setenv("COLUMNS", "60")
    return folder


def run(*args: str, input: str = ""):
    return runner.invoke(app, list(args), input=input)


def quiz_items(lesson_id: str, **options):
    """The quiz the command will ask, worked out the same way."""
    lesson = find_lesson(lesson_id)
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    return select(quiz_pool(lesson, start, records), **options)


def flat(text: str) -> str:
    """The words of the output, with panel borders and line wrapping taken out."""
    lines = (line.strip().removeprefix("|").removesuffix("|") for line in text.splitlines())
    return " ".join(" ".join(lines).split())


def right_answers(items) -> str:
    return "".join(f"{item.answer_letter.lower()}\n" for item in items)


def wrong_answers(items) -> str:
    return "".join(f"{'B' if item.answer_letter == 'A' else 'A'}\n" for item in items)


def test_piped_quiz_all_right_ends_with_the_score_line_and_exit_0():
    items = quiz_items("queue", seed=5, count=4)
    result = run(
        "quiz", "queue", "--seed", "5", "--count", "4", "--plain", input=right_answers(items)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n").splitlines()[-1] == "Score: 4/4"
    assert result.stdout.count("Right.") == 4
    assert "Question 4 of 4" in result.stdout
    assert "Nothing missed." in result.stdout
    assert "\x1b[" not in result.stdout and "Traceback" not in result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


def test_a_wrong_answer_shows_its_misconception_and_the_worked_solution():
    items = quiz_items("queue", seed=2, count=1, level="medium")
    (item,) = items
    chosen = 0 if item.answer_position else 1
    result = run(
        "quiz",
        "queue",
        "--seed",
        "2",
        "--count",
        "1",
        "--difficulty",
        "medium",
        "--plain",
        input="abcdef"[chosen] + "\n",
    )
    assert result.exit_code == 0
    flat_out = flat(result.stdout)
    misconception = item.options[chosen].misconception
    assert f"That choice suggests: {misconception}" in flat_out
    assert " ".join(item.question.solution[0].split()) in flat_out
    assert "Misconceptions met" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "Score: 0/1"


def test_garbage_is_re_asked_and_hint_shown_then_the_answer_counts():
    (item,) = quiz_items("queue", seed=3, count=1)
    answer = item.answer_letter
    result = run(
        "quiz", "queue", "--seed", "3", "--count", "1", "--plain", input=f"zz\n\nh\n{answer}\n"
    )
    assert result.exit_code == 0
    assert "'zz' is not an answer: type A, B, C or D" in result.stdout
    assert "'' is not an answer" in result.stdout
    assert "Hint: " + item.question.hint.split()[0] in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "Score: 1/1"


def test_end_of_input_ends_cleanly_with_the_partial_score(data_folder: Path):
    items = quiz_items("queue", seed=4, count=5)
    result = run(
        "quiz", "queue", "--seed", "4", "--count", "5", "--plain", input=right_answers(items[:2])
    )
    assert result.exit_code == 0
    assert "Input ended after 2 of 5 questions." in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "Score: 2/2"
    saved = json.loads((data_folder / "progress.json").read_text())["lessons"]["queue"]
    assert saved["best_score"] is None  # a partial quiz is not a best


def test_the_same_seed_repeats_exactly_and_no_seed_varies():
    answers = "a\n" * 10
    first = run("quiz", "queue", "--seed", "11", "--plain", input=answers).stdout
    again = run("quiz", "queue", "--seed", "11", "--plain", input=answers).stdout
    strip = lambda text: re.sub(r"Time .*", "", text)  # noqa: E731
    assert strip(first) == strip(again)
    seeds = {
        re.search(r"--seed (\d+)", run("quiz", "queue", "--plain", input=answers).stdout).group(1)
        for _ in range(3)
    }
    assert len(seeds) > 1


def test_no_shuffle_asks_in_the_lesson_order_with_options_in_the_seeds_order():
    result = run(
        "quiz",
        "queue",
        "--no-shuffle",
        "--seed",
        "3",
        "--difficulty",
        "easy",
        "--count",
        "1",
        "--plain",
        input="a\n",
    )
    lesson = find_lesson("queue")
    first_easy = next(q for q in lesson.questions if q.level == "easy")
    (item,) = quiz_items("queue", seed=3, level="easy", count=1, shuffle=False)
    assert item.question.id == first_easy.id
    flat_out = flat(result.stdout)
    assert " ".join(first_easy.prompt.split()) in flat_out
    for letter, option in zip("ABCDEF", item.options, strict=False):
        assert f"{letter}) {option.text}" in flat_out


@pytest.mark.parametrize("seed", [None, "0", "7"])
def test_answering_a_to_everything_does_not_pass_a_no_shuffle_quiz(seed):
    # The issue this guards: every key of a lesson file at A made `yes a | tutor quiz --no-shuffle`
    # score full marks.
    args = ["quiz", "queue", "--no-shuffle", "--plain", "--count", "10"]
    result = run(*args, *(["--seed", seed] if seed else []), input="a\n" * 10)
    assert result.exit_code == 0, result.output
    score = re.search(r"^Score: (\d+)/(\d+)$", result.stdout, re.M)
    assert score and int(score.group(2)) == 10
    assert int(score.group(1)) < 10


def test_the_summary_names_the_command_that_repeats_the_quiz():
    first = run("quiz", "queue", "--no-shuffle", "--count", "3", "--plain", input="a\nb\nc\n")
    found = re.search(
        r"The same quiz again: tutor (quiz queue --seed \d+ --count 3 --no-shuffle)",
        flat(first.stdout),
    )
    assert found, first.stdout
    again = run(*found.group(1).split(), "--plain", input="a\nb\nc\n")
    strip = lambda text: re.sub(r"Time .*", "", text)  # noqa: E731
    assert strip(again.stdout) == strip(first.stdout)


def test_review_asks_only_what_was_missed_and_progress_shows_it(data_folder: Path):
    items = quiz_items("queue", seed=8, count=3)
    run("quiz", "queue", "--seed", "8", "--count", "3", "--plain", input=wrong_answers(items))
    missed = {i.question.id for i in items}
    saved = json.loads((data_folder / "progress.json").read_text())["lessons"]["queue"]
    assert set(saved["missed"]) == missed

    review = quiz_items("queue", seed=1, only=missed)
    result = run("quiz", "queue", "--review", "--seed", "1", "--plain", input=right_answers(review))
    assert "Question 3 of 3" in result.stdout and "Question 4" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "Score: 3/3"

    again = run("quiz", "queue", "--review", "--plain")
    assert again.exit_code == 0
    assert "Nothing to review" in again.stdout

    table = run("progress", "--plain")
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if line.startswith("| queue "))
    assert re.search(r"\| queue\s+\|\s+0/7 \|\s+3/3 \|\s+0 \|", row), row
    assert "50%" in row


def test_reset_asks_first_and_clears_only_on_yes(data_folder: Path):
    run("quiz", "queue", "--seed", "1", "--count", "1", "--plain", input="a\n")
    assert run("reset", "queue", input="n\n").stdout.strip().endswith("Nothing cleared.")
    assert (
        run("reset", "queue", input="").stdout.strip().endswith("Nothing cleared.")
    )  # end of input
    assert "queue" in json.loads((data_folder / "progress.json").read_text())["lessons"]
    result = run("reset", "queue", input="y\n")
    assert result.exit_code == 0 and "Cleared the saved progress of queue." in result.stdout
    assert json.loads((data_folder / "progress.json").read_text())["lessons"] == {}
    assert "There is no saved progress for 'queue'" in run("reset", "queue").stdout
    run("quiz", "queue-rpush", "--seed", "1", "--count", "1", "--plain", input="a\n")
    assert "Cleared ALL saved progress." in run("reset", "--yes").stdout


def test_a_corrupt_progress_file_is_a_warning_not_a_crash(data_folder: Path):
    data_folder.mkdir()
    (data_folder / "progress.json").write_text("{oops")
    result = run("progress", "--plain")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: your progress file was unreadable")
    assert "Traceback" not in result.output
    assert list(data_folder.glob("progress.corrupt-*.json"))


def test_a_level_without_questions_is_one_clear_line(tmp_path: Path):
    lesson = (Path(__file__).parent / "lessons" / "mini.toml").read_text()
    path = tmp_path / "mini.toml"
    path.write_text(lesson)
    result = run("quiz", str(path), "--difficulty", "hard")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: lesson mini has no hard questions to ask"


@pytest.mark.terminal
def test_quiz_in_a_real_terminal(tmp_path: Path):
    pexpect = required_module("pexpect")
    tutor = installed_tutor()
    items = quiz_items("queue", seed=1)
    env = {**os.environ, ENV_DATA_DIR: str(tmp_path / "data"), "TERM": "xterm", "COLUMNS": "80"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        tutor,
        ["quiz", "queue", "--seed", "1"],
        env=env,
        dimensions=(40, 80),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect("Question 1 of 10")
        child.expect("h hint")
        child.send("h")
        child.expect("Hint:")
        # Move the cursor to the right option with the arrow keys and take it with Enter.
        for _ in range(items[0].answer_position):
            child.send("\x1b[B")
            child.expect("Question 1 of 10")
        child.send("\r")
        child.expect("Right.")
        child.expect("Press any key for the next question")
        child.send("x")
        child.expect("Question 2 of 10")
        child.send(items[1].answer_letter.lower())
        child.expect("Right.")
        child.expect("Press any key")
        child.send("q")
        child.expect("Summary")
        child.expect("2/2")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    saved = json.loads((tmp_path / "data" / "progress.json").read_text())
    assert saved["lessons"]["queue"]["quizzes"] == 1


@pytest.mark.terminal
def test_ctrl_c_in_a_real_terminal_keeps_the_answers_and_exits_130(tmp_path: Path):
    pexpect = required_module("pexpect")
    tutor = installed_tutor()
    items = quiz_items("queue", seed=1)
    env = {**os.environ, ENV_DATA_DIR: str(tmp_path / "data"), "TERM": "xterm"}
    child = pexpect.spawn(
        tutor,
        ["quiz", "queue", "--seed", "1", "--plain"],
        env=env,
        dimensions=(40, 60),
        encoding="utf-8",
        codec_errors="replace",  # a frame cut short by Ctrl-C may end inside a character
        timeout=15,
    )
    try:
        child.expect("Question 1 of 10")
        child.send("abcdef"[(items[0].answer_position + 1) % len(items[0].order)])
        child.expect("Not quite.")
        child.expect("Press any key")
        child.send("\x03")
        child.expect("Interrupted after 1 of 10 questions.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    saved = json.loads((tmp_path / "data" / "progress.json").read_text())
    assert saved["lessons"]["queue"]["missed"] == [items[0].question.id]
