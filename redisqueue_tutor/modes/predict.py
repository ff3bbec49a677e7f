"""Predict mode (`tutor step --predict`): before a step's result is shown, the learner guesses it.

The step runs first (the engine never prints), so the question's options come from what Redis
really did; the learner sees the result only after guessing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.screens.console import Console, Look
from redisqueue_tutor.screens.frame import draw, fitted_frame, rule
from redisqueue_tutor.screens.keys import QUIT_KEYS, RESIZE, TIMEOUT
from redisqueue_tutor.screens.step import StepView, step_screen

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun
    from redisqueue_tutor.modes.quiz import Answers


@dataclass
class PredictScore:
    """How the guesses went, and how predict mode ended (done, quit or eof)."""

    asked: int = 0
    right: int = 0
    ended: str = "done"

    @property
    def line(self) -> str:
        return f"Predictions: {self.right}/{self.asked} right"


def play_predict(
    run: LessonRun,
    console: Console,
    look: Look,
    backend: str,
    answers: Answers,
    *,
    seed: int | None = None,
    seen: set[int] | None = None,
) -> PredictScore:
    """Step forward; before each pop or push is shown, ask what it will give, then show it.

    The step runs first (the engine never prints), so the question's options come from what Redis
    really did; the learner sees the result only after guessing. Works in a terminal (keys, one
    screen at a time) and piped (one answer a line; at the end of input the remaining steps are
    shown without questions). q stops. The same seed shuffles the options the same way.
    """
    from redisqueue_tutor.lessons.generated import predict_question
    from redisqueue_tutor.lessons.quiz import grade, select
    from redisqueue_tutor.modes.quiz import Ended, KeyAnswers
    from redisqueue_tutor.screens.quiz import QuestionView, feedback

    if seed is None:
        seed = secrets.randbelow(1_000_000)

    lesson = run.lesson
    total = len(lesson.steps)
    score = PredictScore()
    records: list[StepRecord] = []
    predicting = True
    for record in run:
        records.append(record)
        n = record.number
        question = predict_question(lesson, run.start, records) if predicting else None
        if question is not None:
            (item,) = select([question], seed=seed + n)  # shuffled options
            view = QuestionView(
                item,
                n,
                total,
                lesson,
                run.start,
                tuple(records),
                title=f"Predict step {n} of {total}",
            )
            try:
                parsed = answers.ask(view)
            except Ended:
                predicting = False
                score.ended = "eof"
                console.print("Input ended: the remaining steps are shown without predictions.")
            else:
                if parsed.position < 0:  # q
                    score.ended = "quit"
                    break
                outcome = grade(item, parsed.position, hinted=parsed.hinted)
                score.asked += 1
                score.right += outcome.correct
                result = feedback(item, outcome, look)
                if isinstance(answers, KeyAnswers):
                    if not answers.show(result, f"Press any key to see step {n}.", parsed.position):
                        score.ended = "quit"
                        break
                else:
                    console.print(result)
        shown = StepView(lesson, run.start, tuple(records), total, backend)
        going = _show_step(shown, console, look, answers)
        if seen is not None:
            seen.add(n)
        if not going:
            score.ended = "quit"
            break
    if score.asked:
        console.print(score.line, markup=False)
    return score


def _show_step(view: StepView, console: Console, look: Look, answers: Answers) -> bool:
    """Show the step just run; False when the learner pressed q to stop. In a terminal, a fitted
    frame with the prompt as its footer, then a key; piped, the screen after a rule."""
    from redisqueue_tutor.modes.quiz import KeyAnswers

    n = view.current
    if isinstance(answers, KeyAnswers):
        prompt = "Press any key for the next step (q to stop)." if n < view.total else ""
        while True:
            draw(console, fitted_frame(replace(view, footer=prompt), console, look)[0])
            key = answers.read_key()
            if key not in (RESIZE, TIMEOUT):
                break
        return n >= view.total or key not in QUIT_KEYS
    if n > 1:
        console.print(rule(look))
    console.print(step_screen(view, look))
    return True
