"""Presenter mode: beats, the question before the reveal, notes, keys, piped and scripted."""

from __future__ import annotations

import io
import re

import pytest
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import LessonRun
from redisqueue_tutor.modes.present import (
    Beat,
    Clicker,
    beats,
    class_question,
    present_interactive,
    present_through,
    speaker_notes,
)
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Look, make_console
from tests.conftest import golden

runner = CliRunner()
LOOK = Look(plain=True)


def _present(lesson, spec: str = "fake", width: int = 100, **kwargs) -> str:
    console = make_console(io.StringIO(), plain=True, width=width, record=True)
    with running(spec) as backend, LessonRun(lesson, backend) as run:
        present_through(run, console, LOOK, "backend", **kwargs)
    return console.export_text()


def _with_step_fields(lesson, number: int, **fields):
    """The lesson with `ask`/`notes` set on one step."""
    steps = list(lesson.steps)
    steps[number - 1] = steps[number - 1].model_copy(update=fields)
    return lesson.model_copy(update={"steps": steps})


def _without_asks(lesson):
    steps = [step.model_copy(update={"ask": None, "notes": None}) for step in lesson.steps]
    return lesson.model_copy(update={"steps": steps})


def test_the_lessons_asks_are_the_pauses():
    queue = find_lesson("queue")
    assert [b.step for b in beats(queue) if not b.reveal] == [1, 3, 7]
    assert (
        class_question(queue, 3) == "The queue is ['task2', 'task1']. What will RPOP queue return?"
    )


def test_key_moments_give_the_pauses_in_a_lesson_without_asks():
    queue = _without_asks(find_lesson("queue"))
    plan = beats(queue)
    asked = [b.step for b in plan if not b.reveal]
    assert asked == [1, 2, 3, 4, 7]  # the first step of each key moment
    assert [b.step for b in plan if b.reveal] == list(range(1, 8))
    assert plan[0] == Beat(1, reveal=False, question=queue.moments[0].question.strip())
    assert all(b.reveal for b in beats(queue, pauses=False))


def test_a_step_level_ask_and_notes_win_over_the_key_moment():
    lesson = _with_step_fields(
        _without_asks(find_lesson("queue")),
        3,
        ask="What will RPOP return?",
        notes="Point at the tail.",
    )
    assert class_question(lesson, 3) == "What will RPOP return?"
    assert speaker_notes(lesson, 3) == ("Speaker notes", "Point at the tail.")
    assert speaker_notes(lesson, 3, reveal=False) is None  # never on screen before the reveal
    text = _present(lesson, notes=True)
    assert text.index("What will RPOP return?") < text.index('-> "task1"')
    assert "Point at the tail." in text


def test_the_question_comes_before_the_result_on_both_backends(backend_spec):
    text = _present(_without_asks(find_lesson("queue")), backend_spec)
    question = "Where did LPUSH put 'task1'?"
    assert text.index(question) < text.index("(integer) 1")
    later = "Why does the producer push with LPUSH while the consumer pops with RPOP?"
    assert text.index(later) < text.index('-> "task1"')  # step 3's moment, before RPOP's reply
    assert text.count("result hidden") == 5
    # The pause shows the command about to run, and hides its reply.
    pause = text[: text.index("(integer) 1")]
    assert "LPUSH queue 'task1'" in pause and "-> ?" in pause
    assert "queue  ['task2']" in text and "Output  'task1'" in text
    assert "The queue is empty" in text


def test_both_backends_tell_the_golden_story(backend_spec):
    # The same golden text on both backends: equal, and not equally wrong.
    golden("present-pubsub-w100-plain.txt", _present(find_lesson("pubsub"), backend_spec))


def test_moment_notes_wait_for_the_reveal_so_the_class_does_not_see_the_answer():
    text = _present(_without_asks(find_lesson("queue")), notes=True)
    first_pause = text[: text.index("(integer) 1")]
    assert "Ask the class" in first_pause
    assert "At the head of the list: the left end" not in first_pause
    assert "Speaker notes (from the key moment)" in text
    assert "Speaker notes" not in _present(_without_asks(find_lesson("queue")))


@pytest.mark.parametrize("lesson_id", sorted(discover()))
def test_no_note_is_on_the_projected_screen_before_its_reveal(lesson_id):
    lesson = find_lesson(lesson_id)
    text = _present(lesson, notes=True)
    slides = text.split("-" * 100)
    asked = [s for s in slides if re.search(r"Step \d+ of \d+  -  result hidden", s)]
    assert asked  # every lesson puts questions to the class
    for slide in asked:
        hidden = re.search(r"Step (\d+) of \d+  -  result hidden", slide)
        assert hidden
        number = int(hidden.group(1))
        step = lesson.steps[number - 1]
        moment = lesson.moment_for(number)
        for secret in (step.notes, moment.answer if moment else None):
            if secret:
                assert " ".join(secret.split())[:40] not in " ".join(slide.split()), (
                    lesson_id,
                    number,
                )
        assert "Speaker notes" not in slide


def test_the_notes_file_gives_the_presenter_the_notes_ahead_of_the_reveal(tmp_path):
    notes = tmp_path / "notes.txt"
    result = runner.invoke(app, ["present", "queue", "--plain", "--notes-file", str(notes)])
    assert result.exit_code == 0, result.output
    assert "Speaker notes" not in result.stdout  # the projected screen
    written = notes.read_text()
    ahead = written.index("== Step 1 of 7: the class is asked, result hidden ==")
    assert written.index("Point at the head", ahead) < written.index("== Step 1 of 7: the result")


def test_readable_at_60_columns():
    text = _present(find_lesson("pubsub-vs-queue"), width=60, notes=True)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "Step 12 of 12" in text


def test_clicker_keys():
    clicker = Clicker(total=3)
    assert clicker.handle("b") and clicker.position == 0 and "first" in clicker.message
    assert clicker.handle("\x1b[6~") and clicker.position == 1  # a clicker's Page Down
    assert clicker.handle(" ") and clicker.position == 2
    assert clicker.handle("\r") and clicker.position == 2 and "End of the lesson" in clicker.message
    assert clicker.handle("\x1b[5~") and clicker.position == 1  # Page Up
    assert clicker.handle("r") and clicker.position == 0
    assert clicker.handle("?") and clicker.help
    assert not clicker.handle("q")


def test_interactive_one_key_per_screen_and_back_shows_the_recorded_step():
    keys = iter([" ", " ", "b", "\x1b[C", " ", "q"])
    console = make_console(io.StringIO(), plain=True, width=100, record=True)
    seen: set[int] = set()
    lesson = _without_asks(find_lesson("queue"))  # pauses at the key moments: steps 1, 2, 3, 4, 7
    with running("fake") as backend, LessonRun(lesson, backend) as run:
        last = present_interactive(run, console, lambda: next(keys), LOOK, "fake", seen=seen)
    text = console.export_text()
    assert last == 2  # ask 1, show 1, ask 2, show 1 (back), ask 2, show 2
    assert seen == {1, 2}
    assert text.count("(integer) 2") >= 1 and "Enter/space next" in text


def test_cli_present_piped_and_errors():
    result = runner.invoke(app, ["present", "queue", "--plain", "--no-pauses"])
    assert result.exit_code == 0, result.output
    assert "Ask the class" not in result.stdout and "Step 7 of 7" in result.stdout
    result = runner.invoke(app, ["present", "queue", "--plain", "--notes"])
    assert result.exit_code == 0 and "Ask the class" in result.stdout
    assert "Speaker notes" in result.stdout
    bad = runner.invoke(app, ["present", "nope"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_the_last_slide_shows_the_lessons_comparison():
    """The class sees the comparison computed from the run at the end, as a learner does."""
    lesson = find_lesson("compare")
    text = _present(lesson, width=120)
    last = text.split(f"Step {len(lesson.steps)} of {len(lesson.steps)}")[-1]
    assert "Comparison, from this run" in last
    assert "Survives a consumer" in last
    before = text.split(f"Step {len(lesson.steps)} of {len(lesson.steps)}")[0]
    assert "Comparison, from this run" not in before  # not before the run has ended
