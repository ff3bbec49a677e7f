"""Predict mode while stepping: guess the popped value or the new queue before the step is shown."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.lessons.engine import LessonRun
from redisqueue_tutor.lessons.quiz import Parsed, Reply
from redisqueue_tutor.modes.predict import play_predict
from redisqueue_tutor.modes.quiz import KeyAnswers, LineAnswers
from redisqueue_tutor.modes.step import play_interactive, play_through
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.screens.console import Look, make_console
from redisqueue_tutor.screens.quiz import QuestionView

LOOK = Look(plain=True)


@dataclass
class Scripted:
    """An Answers that picks the right option (or the one after it) and records what it saw."""

    right: bool = True
    interactive: bool = False
    asked: list[QuestionView] = field(default_factory=list)
    stop_after: int | None = None

    def ask(self, view: QuestionView) -> Parsed:
        self.asked.append(view)
        if self.stop_after is not None and len(self.asked) > self.stop_after:
            return Parsed(Reply.QUIT)
        position = view.item.answer_position
        if not self.right:
            position = (position + 1) % len(view.item.order)
        return Parsed(Reply.ANSWER, position)

    def pause(self, prompt: str) -> bool:
        return True


def _predict(lesson_id: str, answers, **kwargs):
    console = make_console(io.StringIO(), plain=True, width=60, record=True)
    seen: set[int] = set()
    with running("fake") as backend:
        score = play_predict(
            LessonRun(find_lesson(lesson_id), backend),
            console,
            LOOK,
            "fake",
            answers,
            seed=1,
            seen=seen,
            **kwargs,
        )
    return score, console.export_text(), seen


def test_each_pop_and_push_is_asked_before_it_is_shown():
    answers = Scripted()
    score, text, seen = _predict("queue", answers)
    asked = [view.item.question.id for view in answers.asked]
    assert asked == ["run-state-1", "run-state-2", "run-pop-3", "run-pop-5", "run-pop-7"]
    # The question about step 3 is asked while only steps 1-2 are on the table.
    (third,) = [v for v in answers.asked if v.item.question.step == 3]
    assert third.title == "Predict step 3 of 7"
    # Step 3's guess is graded before step 3's screen is drawn.
    assert text[: text.index("Step 3 of 7")].count("Right.") == 3
    assert (score.asked, score.right, score.ended) == (5, 5, "done")
    assert text.count("Right.") == 5
    assert text.rstrip().splitlines()[-1] == "Predictions: 5/5 right"
    assert seen == set(range(1, 8))


def test_a_wrong_guess_is_told_why():
    score, text, _seen = _predict("queue-rpush", Scripted(right=False))
    assert score.right == 0 and score.asked > 0
    assert text.count("Not quite.") == score.asked
    assert "That choice suggests:" in text and "Why:" in text


def test_q_stops_predict_mode():
    score, text, seen = _predict("queue", Scripted(stop_after=2))
    assert score.ended == "quit" and score.asked == 2
    assert seen == {1, 2}
    assert "Step 3 of 7" not in text


def test_piped_guesses_come_one_a_line_and_end_of_input_shows_the_rest():
    # Step 1 asks about the queue after LPUSH task1; garbage is re-asked, then the input ends.
    stream = io.StringIO("nonsense\n")
    console = make_console(io.StringIO(), plain=True, width=60, record=True)
    seen: set[int] = set()
    with running("fake") as backend:
        score = play_predict(
            LessonRun(find_lesson("queue"), backend),
            console,
            LOOK,
            "fake",
            LineAnswers(console, stream, LOOK),
            seed=1,
            seen=seen,
        )
    text = console.export_text()
    assert "'nonsense' is not an answer: type A, B or C" in text
    assert "Input ended: the remaining steps are shown without predictions." in " ".join(
        text.split()
    )
    assert score.ended == "eof" and score.asked == 0
    assert [int(n) for n in re.findall(r"^Step (\d) of 7", text, re.M)] == list(range(1, 8))
    assert seen == set(range(1, 8))


def test_piped_right_guess_by_letter():
    console = make_console(io.StringIO(), plain=True, width=60, record=True)
    with running("fake") as backend:
        run = LessonRun(find_lesson("queue"), backend)
        from redisqueue_tutor.lessons.generated import predict_question
        from redisqueue_tutor.lessons.quiz import select

        first = run.next_step()
        (item,) = select([predict_question(run.lesson, run.start, [first])], seed=1 + 1)
    stream = io.StringIO(item.answer_letter.lower() + "\n")
    with running("fake") as backend:
        score = play_predict(
            LessonRun(find_lesson("queue"), backend),
            console,
            LOOK,
            "fake",
            LineAnswers(console, stream, LOOK),
            seed=1,
        )
    assert score.asked == 1 and score.right == 1
    assert "Right." in console.export_text()


def test_in_a_terminal_keys_answer_and_any_key_goes_on():
    keys = iter(["\x1b[B", "h", "\r"] + ["a", "x", "x"] * 10)
    console = make_console(io.StringIO(), plain=True, width=60, record=True)
    with running("fake") as backend:
        score = play_predict(
            LessonRun(find_lesson("queue"), backend),
            console,
            LOOK,
            "fake",
            KeyAnswers(console, lambda: next(keys), LOOK),
            seed=1,
        )
    text = console.export_text()
    assert "Hint:" in text
    assert score.asked == 5 and score.ended == "done"
    assert "A-C answer | Up/Down + Enter | h hint | q quit" in text


def test_stepping_reports_the_steps_it_showed():
    seen: set[int] = set()
    console = make_console(io.StringIO(), plain=True, width=100)
    with running("fake") as backend:
        play_through(LessonRun(find_lesson("queue"), backend), console, LOOK, "fake", seen=seen)
    assert seen == set(range(1, 8))
    seen.clear()
    keys = iter(["\r", "\r", "q"])
    with running("fake") as backend:
        play_interactive(
            LessonRun(find_lesson("queue"), backend),
            console,
            lambda: next(keys),
            LOOK,
            "fake",
            seen=seen,
        )
    assert seen == {1, 2, 3}
