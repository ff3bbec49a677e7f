"""Hostile or broken input: every file, answer line and URL ends in one clear line, never a traceback.

Exit codes: 2 for bad input (a file, an answer), 3 for the backend or a run that cannot go on.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.progress import ENV_DATA_DIR
from tests.conftest import ROOT

runner = CliRunner()
MINI = (ROOT / "tests" / "lessons" / "mini.toml").read_text()
QUEUE = (ROOT / "lessons" / "queue.toml").read_text()
DEEP = 5_000  # levels: far past what a recursive parser survives with Python's default stack


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(ENV_DATA_DIR, str(folder))
    monkeypatch.setenv("COLUMNS", "100")
    return folder


def run(*args: str, input: str | bytes = "", **kwargs):
    return runner.invoke(app, list(args), input=input, **kwargs)


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text[-2000:]
    return lines[0]


# --------------------------------------------------------------------------------------------------
# TOML nested thousands of levels deep


def deep_toml(kind: str) -> str:
    if kind == "array":
        return "format = 1\nid = 'deep'\nx = " + "[" * DEEP + "]" * DEEP + "\n"
    return "format = 1\nx = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n"


NESTED = "nested too deeply: arrays or tables hundreds of levels inside each other"


@pytest.mark.parametrize("kind", ["array", "inline-table"])
@pytest.mark.parametrize("command", ["step", "show", "quiz", "export"])
def test_a_deeply_nested_lesson_is_one_line(tmp_path: Path, command: str, kind: str):
    path = tmp_path / "deep.toml"
    path.write_text(deep_toml(kind))
    result = run(command, str(path))
    assert result.exit_code == 2, result.output
    assert one_line(result.stderr) == f"Error: {path}: {NESTED}"


def test_check_and_list_report_a_deeply_nested_lesson_and_go_on(tmp_path: Path):
    (tmp_path / "deep.toml").write_text(deep_toml("array"))
    (tmp_path / "mini.toml").write_text(MINI)
    checked = run("check", "--plain", str(tmp_path / "deep.toml"), str(tmp_path / "mini.toml"))
    assert checked.exit_code == 1
    assert f"FAIL {tmp_path / 'deep.toml'}: {NESTED}\n" in checked.stdout
    assert "ok mini:" in checked.stdout and "Traceback" not in checked.output
    listed = run("list", "--plain", "--lessons-dir", str(tmp_path))
    assert one_line(listed.stderr) == f"Error: {tmp_path / 'deep.toml'}: {NESTED}"
    assert "| mini*" in listed.stdout


def test_a_deeply_nested_course_file_is_one_line_for_the_course_view(tmp_path: Path):
    (tmp_path / "course.toml").write_text(deep_toml("inline-table"))
    result = run(env={"TUTOR_LESSONS_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"Error: {tmp_path / 'course.toml'}: {NESTED}"
    checked = run("check", "--plain", str(tmp_path / "course.toml"))
    assert f"FAIL {tmp_path / 'course.toml'}: {NESTED}" in checked.stdout


def test_a_lesson_file_too_big_to_be_one_is_refused_unparsed(tmp_path: Path):
    path = tmp_path / "big.toml"
    path.write_text(MINI + "# " + "x" * 1_000_000 + "\n")
    result = run("show", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        f"Error: {path}: is larger than 1 MB: not a lesson or course file"
    )


# --------------------------------------------------------------------------------------------------
# Templates with a huge width or precision


@pytest.mark.parametrize(
    ("template", "number"), [("{task:>200000000}", "200000000"), ("{task:.99999999}", "99999999")]
)
def test_a_huge_template_width_fails_check_and_never_hangs_step(
    tmp_path: Path, template: str, number: str
):
    text = QUEUE.replace('action = "Consumer processes {task!r}"', f'action = "{template}"')
    assert text != QUEUE
    path = tmp_path / "queue.toml"
    path.write_text(text)
    line = text[: text.index(template)].count("\n") + 1
    message = (
        f"{path}:{line}: steps[4].action: {template}: a width or precision of {number} is too"
        " large (at most 200)"
    )
    checked = run("check", "--plain", str(path))
    assert checked.exit_code == 1
    assert f"FAIL {message}\n" in checked.stdout
    stepped = run("step", str(path))
    assert stepped.exit_code == 2
    assert one_line(stepped.stderr) == f"Error: {message}"


def test_a_template_that_slips_past_validation_is_one_line_not_a_hang(monkeypatch):
    from redisqueue_tutor.lessons import find_lesson

    # A lesson changed after validation (model_copy does not validate): fill_template refuses.
    lesson = find_lesson("queue")
    steps = list(lesson.steps)
    steps[3] = steps[3].model_copy(update={"action": "Consumer processes {task:>999999}"})
    unchecked = lesson.model_copy(update={"steps": steps})
    monkeypatch.setattr("redisqueue_tutor.cli.lesson_commands.find_lesson", lambda *a: unchecked)
    result = run("step", "queue")
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "Error: a template of the lesson cannot be filled: {task:>999999}: a width or precision"
        " of 999999 is too large (at most 200)"
    )


# --------------------------------------------------------------------------------------------------
# Progress files that cannot be read


BAD_PROGRESS = {
    "nested 100,000 deep": '{"lessons": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "a 400-digit score": '{"lessons": {"queue": {"best_score": %s, "best_total": 3}}}'
    % ("9" * 400),
    "a 5,000-digit count": '{"lessons": {"queue": {"quizzes": %s}}}' % ("9" * 5000),
    "a score above its total": '{"lessons": {"queue": {"best_score": 4, "best_total": 3}}}',
    "true as a step": '{"lessons": {"queue": {"steps_seen": [true]}}}',
    "a string as a count": '{"lessons": {"queue": {"quizzes": "3"}}}',
    "a huge list": json.dumps({"lessons": {"queue": {"missed": ["q"] * 20_000}}}),
    "a lone surrogate": '{"lessons": {"\\ud800": {}}}',
    "lessons as a list": '{"lessons": []}',
}


@pytest.mark.parametrize("command", ["step", "quiz", "progress", "course"])
@pytest.mark.parametrize("content", BAD_PROGRESS.values(), ids=BAD_PROGRESS.keys())
def test_an_unreadable_progress_file_is_set_aside_and_the_command_goes_on(
    data_folder: Path, command: str, content: str
):
    data_folder.mkdir()
    (data_folder / "progress.json").write_text(content)
    args = {
        "step": ["step", "queue", "--plain"],
        "quiz": ["quiz", "queue", "--count", "1", "--seed", "1", "--plain"],
        "progress": ["progress", "--plain"],
        "course": [],
    }[command]
    result = run(*args, input="a\n")
    assert result.exit_code == 0, result.output[-2000:]
    warning = one_line(result.stderr)
    assert warning.startswith("Warning: your progress file was unreadable (")
    (aside,) = data_folder.glob("progress.corrupt-*.json")
    assert aside.read_text() == content  # kept as it was, never lost
    assert warning.endswith(f"it was kept as {aside} and a fresh one started")
    if command in ("step", "quiz"):  # the fresh progress was saved and reads back cleanly
        again = run("progress", "--plain")
        assert again.exit_code == 0 and again.stderr == ""


def test_progress_bounds_its_numbers():
    from pydantic import ValidationError

    from redisqueue_tutor.progress import LessonProgress, parse_progress

    with pytest.raises(ValidationError):
        LessonProgress(best_score=10**400, best_total=3)
    with pytest.raises(ValueError, match=r"^lessons\.queue\.quizzes: Input should be less than"):
        parse_progress(b'{"lessons": {"queue": {"quizzes": 10000000000}}}')
    with pytest.raises(ValueError, match=r"^not JSON \(Expecting"):
        parse_progress(b"{oops")
    good = parse_progress(b'{"format": 1, "lessons": {"queue": {"steps_seen": [1, 2]}}}')
    assert good.lesson("queue").steps_seen == (1, 2)


# --------------------------------------------------------------------------------------------------
# Long answer lines, piped


def test_a_50_mb_answer_line_is_re_asked_in_one_line_without_being_held():
    from redisqueue_tutor.screens.keys import LineTooLong, read_line

    class Counting(io.StringIO):
        largest = 0

        def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
            line = super().readline(size)
            self.largest = max(self.largest, len(line))
            return line

    stream = Counting("x" * 50_000_000 + "\nb\r\n" + "y" * 1000 + "\n" + "z" * 1001)
    with pytest.raises(LineTooLong, match="more than 1,000 characters"):
        read_line(stream)
    assert stream.largest <= 64 * 1024  # read in chunks, never the whole line at once
    assert read_line(stream) == "b"
    assert read_line(stream) == "y" * 1000  # the limit itself is still a line
    with pytest.raises(LineTooLong):
        read_line(stream)
    assert read_line(stream) is None


def test_a_piped_quiz_re_asks_after_a_huge_line_and_goes_on():
    result = run(
        "quiz", "queue", "--count", "1", "--seed", "1", "--plain", input="x" * 5_000_000 + "\nq\n"
    )
    assert result.exit_code == 0, result.output[-2000:]
    assert "A line of more than 1,000 characters is not an answer: type A, B" in result.stdout
    assert "xxxxxxxxxx" not in result.stdout
    assert "Your answer: q" in result.stdout
    assert result.stdout.rstrip().endswith("Score: 0/0")


def test_a_piped_prediction_re_asks_after_a_huge_line():
    result = run("step", "queue", "--predict", "--plain", input="x" * 2_000_000 + "\n")
    assert result.exit_code == 0, result.output[-2000:]
    assert result.stdout.count("A line of more than 1,000 characters is not an answer") == 1
    assert "xxxxxxxxxx" not in result.stdout


def test_a_piped_sandbox_skips_a_huge_line():
    result = run("sandbox", "--plain", input="x" * 2_000_000 + "\nLPUSH queue a\nquit\n")
    assert result.exit_code == 0, result.output[-2000:]
    assert "sandbox> (a line of more than 1,000 characters, skipped)" in result.stdout
    assert "sandbox> LPUSH queue a" in result.stdout
    assert "xxxxxxxxxx" not in result.output


# --------------------------------------------------------------------------------------------------
# A run that cannot go on


def test_an_engine_error_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch):
    from redisqueue_tutor.lessons.engine import EngineError, LessonRun

    def stalls(self: LessonRun):
        raise EngineError("a published message did not reach its listeners within 5.0 s")

    monkeypatch.setattr(LessonRun, "next_step", stalls)
    for args in (["step", "pubsub"], ["quiz", "pubsub"], ["check", str(ROOT / "lessons")]):
        result = run(*args)
        assert result.exit_code == 3, (args, result.output[-2000:])
        assert one_line(result.stderr) == (
            "Error: the lesson could not go on: a published message did not reach its listeners"
            " within 5.0 s"
        )


# --------------------------------------------------------------------------------------------------
# Redis URLs


@pytest.mark.parametrize("path", ["abc", "1/2", "-1", "1x", "%20"])
def test_a_database_that_is_not_a_number_is_refused_before_connecting(path: str):
    url = f"redis://127.0.0.1:1/{path}"  # nothing listens on port 1: refused before that matters
    result = run("step", "queue", "--backend", url)
    assert result.exit_code == 3
    shown = {"%20": " "}.get(path, path)
    assert one_line(result.stderr) == (
        f"Error: {url}: the database {shown!r} is not a database number; use"
        " redis://host:6379/0 (databases are numbered from 0)"
    )


@pytest.mark.parametrize("path", ["", "/", "/0", "/12", "/%31"])
def test_a_numbered_or_absent_database_is_accepted(path: str):
    from redisqueue_tutor.run.backend import RedisBackend

    assert RedisBackend(f"redis://127.0.0.1:1{path}").address == "127.0.0.1:1"


def test_a_missing_tls_file_is_named(tmp_path: Path):
    url = f"rediss://127.0.0.1:1/0?ssl_ca_certs={tmp_path}/nope.pem"
    result = run("step", "queue", "--backend", url)
    assert result.exit_code == 3
    assert one_line(result.stderr) == (
        f"Error: {url}: the CA certificate file {tmp_path}/nope.pem (ssl_ca_certs) does not exist"
    )
    (tmp_path / "ca.pem").write_text("")
    from redisqueue_tutor.run.backend import RedisBackend

    RedisBackend(f"rediss://127.0.0.1:1/0?ssl_ca_certs={tmp_path}/ca.pem")  # present: accepted


def test_the_url_in_those_lines_hides_its_password():
    result = run("step", "queue", "--backend", "redis://:s3cret@127.0.0.1:1/abc")
    assert result.exit_code == 3
    line = one_line(result.stderr)
    assert line.startswith("Error: redis://:***@127.0.0.1:1/abc: the database 'abc'")
    assert "s3cret" not in result.output


# --------------------------------------------------------------------------------------------------
# Run files


def good_run() -> dict:
    return {
        "format": "tutor-run",
        "version": 1,
        "steps": [
            {
                "number": 1,
                "actor": "r",
                "action": "line 1: r.lpush('q', 'a')",
                "commands": [{"client": "r", "args": ["LPUSH", "q", "a"], "reply": 1}],
                "state": [["q", ["a"]]],
            }
        ],
    }


def broken_run(change) -> str:
    data = good_run()
    change(data)
    return json.dumps(data)


BAD_RUNS = {
    "bad JSON": ('{"format": "tutor-run",\n oops}', ":2: not JSON (Expecting property name"),
    "nested 100,000 deep": (
        '{"format": "tutor-run", "version": 1, "steps": ' + "[" * 100_000 + "]" * 100_000 + "}",
        ": arrays or objects nested too deeply",
    ),
    "a value nested 70 deep": (
        broken_run(
            lambda d: d["steps"][0]["commands"][0].update(reply=json.loads("[" * 70 + "]" * 70))
        ),
        ": arrays or objects nested more than 64 deep",
    ),
    "a number as an argument": (
        broken_run(lambda d: d["steps"][0]["commands"][0].update(args=["LPUSH", 1])),
        ": steps[1].commands[1].args[2]: Input should be a valid string",
    ),
    "steps as an object": (
        broken_run(lambda d: d.update(steps={})),
        ": steps: Input should be a valid list",
    ),
    "a missing action": (
        broken_run(lambda d: d["steps"][0].pop("action")),
        ": steps[1].action: Field required",
    ),
    "bad hex": (
        broken_run(lambda d: d["steps"][0]["commands"][0].update(reply={"hex": "zz"})),
        ": a value is not what it says: non-hexadecimal number",
    ),
    "a lone surrogate": (
        broken_run(lambda d: d["steps"][0].update(action="\ud800")),
        ": a string holds a lone surrogate",
    ),
    "a 5,000-digit number": (
        '{"format": "tutor-run", "version": 1, "steps": [], "title": %s}' % ("9" * 5000),
        ": not JSON the tutor reads (a number of thousands of digits)",
    ),
    "not UTF-8": (b"\xff\xfe{}", ": not UTF-8 text"),
}


@pytest.mark.parametrize(("content", "message"), BAD_RUNS.values(), ids=BAD_RUNS.keys())
def test_a_malformed_run_file_is_one_line_naming_it(tmp_path: Path, content, message: str):
    path = tmp_path / "run.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = run("step", "--from", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith(f"Error: {path}{message}")


def test_a_run_file_too_big_is_refused_unparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from redisqueue_tutor.run import runfile

    path = tmp_path / "run.json"
    path.write_text(json.dumps(good_run()))
    assert run("step", "--from", str(path)).exit_code == 0
    monkeypatch.setattr(runfile, "MAX_FILE_BYTES", 100)
    result = run("step", "--from", str(path))
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"Error: {path}: larger than 0 MB, the most the tutor reads"


def test_an_error_line_never_breaks_or_colours_the_terminal():
    result = run("step", "qu\neue\x1b[2J")
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "Error: unknown lesson 'qu\\neue\\x1b[2J'. Did you mean 'queue'? `tutor list` shows"
        " the lessons."
    )
