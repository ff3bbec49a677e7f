"""A scenario lesson's comparison (`[scenario.comparison]`) answered from its run, and a step that
ends when all of several commands have come (two processes of one lane racing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scenario_lessons import LESSON, load, run_of, sample_run

from redisqueue_tutor.lessons import LessonError
from redisqueue_tutor.lessons.contrast import NO_COMMAND, compared
from redisqueue_tutor.lessons.scenario import ScenarioError, ScenarioRun

COMPARED = (
    LESSON
    + """
[scenario.comparison]
columns = ["the view", "the worker"]
[[scenario.comparison.rows]]
ask = "Stored as"
steps = [1, 2]
match = ["LPUSH *", "HSET *"]
[[scenario.comparison.rows]]
ask = "Bindings"
steps = [1, 3]
match = ["SADD *"]
[[scenario.comparison.rows]]
ask = "Holds"
steps = [1, 2]
keys = [["jobs"], ["jobs", "held"]]
"""
)


def test_each_cell_is_what_its_step_sent_or_held(tmp_path: Path):
    lesson = load(tmp_path, COMPARED)
    records = list(ScenarioRun(lesson, sample_run()))
    rows = compared(lesson, records)
    assert [row.ask for row in rows] == ["Stored as", "Bindings", "Holds"]
    # A command by its name and first two arguments; the rest said to be there (…).
    assert rows[0].cells == ("LPUSH jobs 'job'", "HSET held 1 …")
    assert rows[1].cells == ("SADD bindings jobs", NO_COMMAND)  # step 3 sent no SADD
    assert rows[2].cells == ("jobs: 1 item", "jobs: empty, held: 1 item")
    # Before a step has run, its cells are blank: the end page asks for the whole run.
    assert compared(lesson, records[:1])[0].cells == ("LPUSH jobs 'job'", "")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("steps = [1, 2]\nmatch", "steps = [1]\nmatch"), "rows[1].steps", "one step per column"),
        (("steps = [1, 3]", "steps = [1, 4]"), "rows[2].steps", "step 4: the lesson has 3"),
        (('[["jobs"], ["jobs", "held"]]', '[["jobs"], ["nowhere"]]'), "rows[3].keys", "'nowhere'"),
        (('keys = [["jobs"]', 'match = ["X"]\nkeys = [["jobs"]'), "rows[3].keys", "not both"),
        (('[["jobs"], ["jobs", "held"]]', '[["jobs"], []]'), "rows[3].keys", "at least one key"),
    ],
)
def test_a_malformed_comparison_names_its_field(tmp_path, change, field, message):
    with pytest.raises(LessonError) as caught:
        load(tmp_path, COMPARED.replace(*change, 1))
    assert message in str(caught.value)
    assert caught.value.field == f"scenario.comparison.{field}"


def test_a_step_with_several_untils_ends_at_the_last_of_them(tmp_path: Path):
    # The worker's two commands may come in either order (a pool's parent acks, its child stores
    # the result): the step takes both whichever came first.
    two = LESSON.replace(
        'action = "The worker takes it and keeps a copy"\nuntil = "HSET held *"',
        'action = "The worker takes it and keeps a copy"\nuntil = ["HSET held 2 *", "BRPOP jobs *"]',
    ).replace('[[steps]]\nactor = "worker"\naction = "Again"\nuntil = "HSET held *"\n', "")
    records = list(ScenarioRun(load(tmp_path, two), sample_run()))
    assert [[c.name for c in r.commands] for r in records] == [
        ["SADD", "LPUSH"],
        ["BRPOP", "HSET", "HSET"],
    ]


def test_several_untils_of_which_one_never_comes_say_each(tmp_path: Path):
    never = LESSON.replace(
        'action = "Again"\nuntil = "HSET held *"',
        'action = "Again"\nuntil = ["HSET held *", "HDEL *"]',
    )
    run = ScenarioRun(load(tmp_path, never), run_of(*sample_run().traced))
    run.next_step(), run.next_step()
    with pytest.raises(ScenarioError) as caught:
        run.next_step()
    # Only the glob that never came is named.
    assert "matching 'HDEL *' after 2 of its commands;" in str(caught.value)


def test_a_comparison_glob_that_picks_no_command_fails_the_check(tmp_path: Path):
    from redisqueue_tutor.lessons.check import comparison_claims

    lesson = load(
        tmp_path, COMPARED.replace('match = ["LPUSH *", "HSET *"]', 'match = ["LPUSH *", "HDLE *"]')
    )
    records = list(ScenarioRun(lesson, sample_run()))
    claims, wrong = comparison_claims(lesson, records)
    assert claims == 3  # one per glob
    assert [m.field for m in wrong] == ["comparison 'Stored as', 'HDLE *'"]


def test_a_string_key_is_told_by_its_value(tmp_path: Path):
    from dataclasses import replace

    lesson = load(tmp_path, COMPARED)
    records = list(ScenarioRun(lesson, sample_run()))
    records[0] = replace(records[0], state=(("jobs", "12345"),))
    assert compared(lesson, records)[2].cells[0] == "jobs: '12345'"


@pytest.mark.parametrize("until", ["[]", "3", '["x", 3]'])
def test_a_malformed_until_is_one_clear_line(tmp_path, until):
    text = LESSON.replace('until = "LPUSH jobs *"', f"until = {until}", 1)
    with pytest.raises(LessonError) as caught:
        load(tmp_path, text)
    assert caught.value.field == "steps[1].until"
    assert "a glob" in str(caught.value) and "list of globs" in str(caught.value)


def test_x_shows_the_projects_code_around_the_line_that_sent_the_commands():
    from redisqueue_tutor.lessons.loading import find_lesson
    from redisqueue_tutor.lessons.scenario import code_in_context

    lesson = find_lesson("frameworks")
    views = Path(lesson.scenario.program).parent.parent / "shop" / "views.py"
    lines = views.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "tasks.build_report.delay" in line)
    shown = code_in_context(lesson, [f"views.py:{number}: {lines[number - 1].strip()}"])
    assert shown[0] == "shop/views.py:"
    assert f">{number:4} | {lines[number - 1]}" in shown  # the line, marked
    assert f" {number - 1:4} | {lines[number - 2]}" in shown  # and the lines around it
    assert code_in_context(lesson, ["(inside a library)", "nowhere.py:3: x"]) == []


def test_a_scenario_whose_program_fails_is_one_line_not_a_traceback(tmp_path: Path):
    import subprocess
    import sys

    lesson = tmp_path / "shop.toml"
    lesson.write_text(LESSON)
    (tmp_path / "shop.py").write_text("raise SystemExit('the shop is closed')\n")
    done = subprocess.run(
        [sys.executable, "-m", "redisqueue_tutor", "step", str(lesson)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "the lesson could not go on" in done.stderr and "shop.py" in done.stderr
