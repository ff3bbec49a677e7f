"""The command line through Typer's test runner: output, exit codes, help and docs for every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from redisqueue_tutor import __version__
from redisqueue_tutor.cli import app
from tests.conftest import ROOT, installed_tutor

runner = CliRunner()


def run(*args: str, **kwargs):
    return runner.invoke(app, list(args), **kwargs)


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tutor {__version__}"


def test_list_shows_id_title_level_steps_questions():
    result = run("list", "--plain")
    assert result.exit_code == 0
    assert re.search(r"\| queue\s+\| A Redis list as a task queue", result.stdout)
    assert re.search(r"\| queue-rpush\s+\|", result.stdout)
    assert re.search(r"\| queue\s+\|.*\| beginner\s+\|\s+7 \|", result.stdout)


def test_show_prints_the_concept_card():
    result = run("show", "queue")
    assert result.exit_code == 0
    for text in ("Flow", "The Redis list stores it", "Key moments", "LPUSH + RPOP gives first in"):
        assert text in result.stdout


def test_step_piped_prints_every_step_and_exits_0():
    result = run("step", "queue", "--plain")
    assert result.exit_code == 0, result.output
    assert [int(n) for n in re.findall(r"^Step (\d) of 7", result.stdout, re.M)] == list(
        range(1, 8)
    )
    assert "LPUSH queue 'task1' ->" in result.stdout and "(integer) 1" in result.stdout
    assert "RPOP queue -> (nil)" in result.stdout
    assert "The queue is empty" in result.stdout
    assert "\x1b[" not in result.stdout
    assert not set(result.stdout) & set("╭─│╰▶")
    # Each step says in one line what the variables hold; the last shows the whole tracker once.
    nows = re.findall(r"^Now: (.*)$", result.stdout, re.M)
    assert nows[:2] == [
        "queue = ['task1'] | task = None",
        "queue = ['task2', 'task1'] | task = None",
    ]
    assert len(nows) == 6 and result.stdout.count("Variable tracker") == 1


def test_step_auto_waits_between_steps(monkeypatch: pytest.MonkeyPatch):
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    result = run("step", "queue-rpush", "--auto", "--delay", "0.25")
    assert result.exit_code == 0
    assert waits == [0.25] * 7


def test_unknown_lesson_is_one_line_and_exit_2():
    result = run("step", "queu")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "Error: unknown lesson 'queu'. Did you mean 'queue'? `tutor list` shows the lessons."
    )


def test_malformed_lesson_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\nid = "bad"\ntitle = 3\n')
    result = run("show", str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"Error: {bad}:3: title: ")
    assert "Traceback" not in result.output


def test_check_proves_the_lessons_and_fails_on_a_wrong_claim(tmp_path):
    ok = run("check")
    assert ok.exit_code == 0, ok.output
    assert re.search(r"queue: \d+ claims proven", ok.stdout)
    text = (ROOT / "lessons" / "queue.toml").read_text()
    wrong = text.replace("""state = "['task2', 'task1']\"""", """state = "['task1', 'task2']\"""")
    assert wrong != text
    (tmp_path / "queue.toml").write_text(wrong)
    bad = run("check", str(tmp_path))
    assert bad.exit_code == 1
    assert "step 2 state: lesson says ['task1', 'task2'], Redis gave ['task2', 'task1']" in (
        bad.stdout
    )
    assert "0 passed, 1 failed" in bad.stdout


def test_check_without_a_path_checks_the_lessons_folder_it_runs_in(tmp_path, monkeypatch):
    text = (ROOT / "lessons" / "queue.toml").read_text()
    wrong = text.replace("""state = "['task2', 'task1']\"""", """state = "['task1', 'task2']\"""")
    assert wrong != text
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "queue.toml").write_text(wrong)
    monkeypatch.chdir(tmp_path)
    here = run("check", "--plain")
    assert here.exit_code == 1, here.output
    assert here.stdout.startswith("Checking 1 lesson file in ./lessons\n")
    assert "FAIL lessons/queue.toml: 1 claim wrong" in here.stdout
    assert "0 passed, 1 failed" in here.stdout

    monkeypatch.chdir(tmp_path / "lessons")  # no lessons folder here: the installed ones
    installed = run("check", "--plain")
    assert installed.exit_code == 0, installed.output
    first = installed.stdout.splitlines()[0]
    assert re.match(r"Checking \d+ lesson files installed with the tutor \(", first), first
    assert re.search(r"^ok queue: \d+ claims proven", installed.stdout, re.M)


def test_lessons_dir_option_adds_an_authors_lesson(tmp_path):
    (tmp_path / "mini.toml").write_text((ROOT / "tests" / "lessons" / "mini.toml").read_text())
    result = run("list", "--plain", "--lessons-dir", str(tmp_path))
    assert result.exit_code == 0
    assert "mini*" in result.stdout and "from your lessons folder" in result.stdout


def test_unreachable_redis_is_one_line_and_exit_3():
    result = run("step", "queue", "--backend", "redis://127.0.0.1:1/0")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: cannot reach Redis")
    assert "--backend fake" in result.stderr
    assert "Traceback" not in result.output


def _commands(group: typer.Typer):
    command = typer.main.get_command(group)
    return command.commands  # type: ignore[attr-defined]


def test_every_command_has_help_and_a_readme_mention():
    readme = (ROOT / "README.md").read_text()
    commands = _commands(app)
    assert {"list", "show", "step", "check"} <= set(commands)
    for name, command in commands.items():
        assert command.help, f"`tutor {name}` has no help text"
        assert run(name, "--help").exit_code == 0
        assert f"tutor {name}" in readme, f"README does not mention `tutor {name}`"


def readme_command_table() -> dict[str, str]:
    """The README's command table: each row's command name ('' for `tutor` alone) and text."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Commands\n") :]
    section = section[: section.index("\n#", 1)]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 2 or not cells[0].startswith("`tutor"):
            continue
        words = cells[0].strip("`").split()
        name = words[1] if len(words) > 1 and not words[1].startswith("[") else ""
        assert name not in rows, f"`tutor {name}` has two rows in the README's command table"
        rows[name] = cells[1].replace("\\|", "|")
    return rows


def help_first_line(name: str) -> tuple[str, str]:
    """The first line of the command's description as `tutor [NAME] --help` shows it (the line
    `tutor --help` lists it with), and the whole help text."""
    out = run(*([name] if name else []), "--help", env={"COLUMNS": "1000"}).stdout
    lines = [line.strip() for line in out.splitlines()]
    usage = next(i for i, line in enumerate(lines) if line.startswith("Usage: tutor"))
    return next(line for line in lines[usage + 1 :] if line), out


def as_table_text(line: str) -> str:
    """A help line as the README's table writes it: first letter in lower case, no final full stop
    (an ellipsis stays)."""
    text = line[0].lower() + line[1:]
    return text[:-1] if text.endswith(".") and not text.endswith("...") else text


def test_the_readme_command_table_is_the_help_of_every_command():
    """Each row's text is its command's first help line (as_table_text), optionally followed by a
    note in parentheses, for the README only, whose every --option is one the command has."""
    rows = readme_command_table()
    assert set(rows) == {"", *_commands(app)}, "the table and the commands differ"
    for name, text in rows.items():
        line, out = help_first_line(name)
        expected = as_table_text(line)
        if text == expected:
            continue
        where = f"README row `{' '.join(['tutor', name]).strip()}`"
        assert text.startswith(expected + " (") and text.endswith(")"), (
            f"{where}: {text!r} is not the help's first line {expected!r} (plus a note in"
            " parentheses)"
        )
        note = text[len(expected) + 2 : -1]
        for option in re.findall(r"--[a-z][a-z-]*", note):
            assert re.search(rf"{option}\b", out), f"{where}: the command has no {option}"


PANELS = {
    "Learn": ["step", "quiz", "progress", "reset", "next", "glossary"],
    "Teach": ["present", "export", "sandbox", "class"],
    "Write lessons": ["list", "show", "check"],
    "Your own code": ["trace"],
    "Your Redis server": ["doctor"],
}


def test_help_groups_the_commands_by_who_uses_them():
    out = run("--help", env={"COLUMNS": "100"}).stdout
    titles = [re.search(rf"[╭+][─-]* ?{re.escape(title)} ", out) for title in PANELS]
    assert all(titles), out
    starts = [title.start() for title in titles if title]
    assert starts == sorted(starts), "panels out of order"
    for (title, names), start, end in zip(
        PANELS.items(), starts, [*starts[1:], len(out)], strict=True
    ):
        panel = out[start:end]
        for name in names:
            assert re.search(rf"^\W*{name}\s", panel, re.M), f"{name} is not under {title}"
    assert set(_commands(app)) == {n for names in PANELS.values() for n in names}


@pytest.mark.parametrize("columns", ["60", "140"])
def test_help_paragraphs_reflow_and_flags_show_no_type(columns):
    for name, command in _commands(app).items():
        for paragraph in command.help.split("\n\n"):
            assert "\n" not in paragraph, f"`tutor {name}` help has a hard line break"
        out = run(name, "--help", env={"COLUMNS": columns}).stdout
        assert "<bool>" not in out, name
        assert max(len(line) for line in out.splitlines()) <= int(columns), name
    root = run("--help", env={"COLUMNS": columns}).stdout
    assert "<bool>" not in root and "--install-completion" in root


def test_python_dash_m_works_like_tutor():
    result = subprocess.run(
        [sys.executable, "-m", "redisqueue_tutor", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"tutor {__version__}"


# What `tutor list` and `tutor --help` must not import: Redis's clients, the frameworks of the
# Django lessons and the rooms that run lessons (the models, the engine, the backends, the
# modes). They stay quick without them.
FRAMEWORKS = ("django", "celery", "kombu", "rq", "django_rq", "channels", "channels_redis")
HEAVY = ("redis", "fakeredis", "redisqueue_tutor.run", "redisqueue_tutor.modes", *FRAMEWORKS)
HEAVY_MODULES = ("redisqueue_tutor.lessons.model", "redisqueue_tutor.lessons.engine")


def imported_by(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the installed `tutor` for real; the modules it imported, from Python's -X importtime."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "COLUMNS": "120", "NO_COLOR": "1"}
    result = subprocess.run(
        [installed_tutor(), *args], capture_output=True, text=True, env=env, check=False
    )
    found = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", result.stderr, re.M)
    assert "redisqueue_tutor.cli" in found, result.stderr[-2000:]  # the profile was read
    return result, set(found)


def heavy(modules: set[str]) -> list[str]:
    return sorted(
        m
        for m in modules
        if m in HEAVY_MODULES or any(m == h or m.startswith(h + ".") for h in HEAVY)
    )


def test_help_and_list_run_and_do_not_import_redis_or_the_lesson_runner():
    listed, modules = imported_by("list", "--plain")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert re.search(r"\| queue\s+\| A Redis list as a task queue", listed.stdout)
    assert heavy(modules) == []

    helped, modules = imported_by("--help")
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "Usage: tutor" in helped.stdout
    for name in ("step", "quiz", "present", "check", "trace", "doctor"):
        assert re.search(rf"^\W*{name}\s", helped.stdout, re.M), name
    assert heavy(modules) == []

    # The check itself sees these modules when a command does import them.
    stepped, modules = imported_by("step", "queue", "--plain")
    assert stepped.returncode == 0, stepped.stderr[-2000:]
    assert {"redis", "fakeredis", "redisqueue_tutor.lessons.model"} <= set(heavy(modules))
    # A lesson on lists imports no framework either.
    assert not {m.split(".")[0] for m in modules} & set(FRAMEWORKS)
