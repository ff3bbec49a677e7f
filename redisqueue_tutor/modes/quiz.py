"""Taking a quiz (`tutor quiz`, and the questions of `tutor step --predict`): asking each question,
reading the answer (keys in a terminal, one line each when piped), grading it, showing the
feedback. What is drawn comes from screens/quiz.py; what is graded from lessons/quiz.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Protocol

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS
from redisqueue_tutor.lessons.quiz import (
    Outcome,
    Parsed,
    QuizItem,
    Reply,
    grade,
    letters_help,
    parse_answer,
)
from redisqueue_tutor.modes.step import Interruption, next_key
from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.frame import dim, draw
from redisqueue_tutor.screens.keys import (
    DOWN,
    ENTER,
    QUIT_KEYS,
    RESIZE,
    TIMEOUT,
    UP,
    LineTooLong,
    ReadKey,
    read_line,
)
from redisqueue_tutor.screens.quiz import (
    QuestionView,
    answered_frame,
    feedback,
    fitted_question,
    hint_line,
    question_panel,
)


class Ended(Exception):
    """Standard input ended: no more answers will come."""


class Answers(Protocol):
    """How a learner answers one question: keys in a terminal, or one line each when piped."""

    interactive: bool
    # What may take the screen between two keys (a class's poll); only keys in a terminal look.
    interruption: Interruption | None

    def ask(self, view: QuestionView) -> Parsed: ...

    def pause(self, prompt: str) -> bool:
        """Wait before going on (in a terminal); False if the learner wants to stop."""
        ...


class LineAnswers:
    """Piped: one answer a line. Garbage is re-asked; the end of input raises Ended."""

    interactive = False

    def __init__(self, console: Console, stream: IO[str], look: Look) -> None:
        self.console, self.stream, self.look = console, stream, look
        self.interruption: Interruption | None = None  # piped, nothing takes the screen

    def _line(self) -> str:
        line = read_line(self.stream)
        if line is None:
            raise Ended
        return line

    def ask(self, view: QuestionView) -> Parsed:
        self.console.print(question_panel(view, self.look))
        count = len(view.item.options)
        hinted = False
        while True:
            try:
                text = self._line()
            except LineTooLong as exc:
                self.console.print(
                    f"{str(exc).capitalize()} is not an answer: type {letters_help(count)} "
                    "(h for a hint, q to quit).",
                    markup=False,
                )
                continue
            self.console.print(f"Your answer: {text}", markup=False, highlight=False)
            parsed = parse_answer(text, count)
            if parsed.reply is Reply.HINT:
                if not hinted:
                    self.console.print(hint_line(view))
                hinted = True
                continue
            if parsed.reply is Reply.INVALID:
                self.console.print(
                    f"{text.strip()!r} is not an answer: type {letters_help(count)} "
                    "(h for a hint, q to quit).",
                    markup=False,
                )
                continue
            return Parsed(parsed.reply, parsed.position, hinted)

    def pause(self, prompt: str) -> bool:
        return True  # piped output flows on


class KeyAnswers:
    """In a terminal: a letter answers, ↑/↓ and Enter pick, h shows the hint, q quits.

    Ctrl-C reaches the caller as KeyboardInterrupt (click's getchar raises it).
    """

    interactive = True

    def __init__(self, console: Console, read_key: ReadKey, look: Look) -> None:
        self.console, self.read_key, self.look = console, read_key, look
        # A class's poll may take the screen while the learner thinks (modes/attend.py).
        self.interruption: Interruption | None = None

    def _keys(self, count: int) -> str:
        up_down = "Up/Down" if self.look.plain else "↑/↓"
        sep = " | " if self.look.plain else " · "
        return sep.join(
            (f"{LETTERS[0]}-{LETTERS[count - 1]} answer", f"{up_down} + Enter", "h hint", "q quit")
        )

    def ask(self, view: QuestionView) -> Parsed:
        count = len(view.item.options)
        cursor, hint, message = 0, False, ""
        while True:
            screen = replace(
                view, cursor=cursor, hint=hint, message=message, keys=self._keys(count)
            )
            draw(self.console, fitted_question(screen, self.look, self.console))
            self.last = screen
            key = next_key(self.console, self.read_key, self.look, self.interruption)
            message = ""
            if key in (RESIZE, TIMEOUT):
                continue
            if key in UP:
                cursor = (cursor - 1) % count
                continue
            if key in DOWN:
                cursor = (cursor + 1) % count
                continue
            if key in ENTER:
                return Parsed(Reply.ANSWER, cursor, hint)
            if key in QUIT_KEYS:
                return Parsed(Reply.QUIT, hinted=hint)
            parsed = parse_answer(key, count)
            if parsed.reply is Reply.ANSWER:
                return Parsed(Reply.ANSWER, parsed.position, hint)
            if parsed.reply is Reply.HINT:
                hint = True
                continue
            message = f"Press {letters_help(count)}, or h for a hint, q to quit."

    def show(self, result: Renderable, prompt: str, chosen: int | None = None) -> bool:
        """The question just answered with its feedback below, fitted; then wait for a key."""
        last = getattr(self, "last", None)
        while True:
            draw(
                self.console,
                answered_frame(self.console, self.look, last, result, prompt=prompt, chosen=chosen),
            )
            key = self.read_key()
            if key not in (RESIZE, TIMEOUT):
                return key not in QUIT_KEYS

    def pause(self, prompt: str) -> bool:
        self.console.print(dim(prompt))
        while True:
            key = self.read_key()
            if key not in (RESIZE, TIMEOUT):
                return key not in QUIT_KEYS


# --------------------------------------------------------------------------------------------------
# Taking a quiz


@dataclass
class QuizRun:
    """What happened: the outcomes so far, and how the quiz ended."""

    outcomes: list[Outcome] = field(default_factory=list)
    ended: str = "done"  # done | quit | eof | interrupted
    seconds: float = 0.0


def take_quiz(
    items: Sequence[QuizItem],
    lesson: Lesson,
    start: StepRecord,
    records: Sequence[StepRecord],
    *,
    console: Console,
    answers: Answers,
    look: Look,
    clock: Callable[[], float] = time.monotonic,
    on_answer: Callable[[Outcome], None] | None = None,
) -> QuizRun:
    """Ask each question in turn and show the feedback. Never raises for the learner's input.
    `on_answer` hears of each answer as it is graded (a class the learner joined)."""
    run = QuizRun()
    began = clock()
    try:
        for number, item in enumerate(items, start=1):
            view = QuestionView(item, number, len(items), lesson, start, tuple(records))
            parsed = answers.ask(view)
            if parsed.reply is Reply.QUIT:
                run.ended = "quit"
                break
            outcome = grade(item, parsed.position, hinted=parsed.hinted)
            run.outcomes.append(outcome)
            if on_answer is not None:
                on_answer(outcome)
            result = feedback(item, outcome, look)
            if isinstance(answers, KeyAnswers):
                prompt = (
                    "Press any key for the next question (q to stop)."
                    if number < len(items)
                    else "Press any key for the summary."
                )
                if not answers.show(result, prompt, outcome.position) and number < len(items):
                    run.ended = "quit"
                    break
                console.clear()
                continue
            console.print(result)
            if number < len(items) and not answers.pause(
                "Press any key for the next question (q to stop)."
            ):
                run.ended = "quit"
                break
    except Ended:
        run.ended = "eof"
    except KeyboardInterrupt:
        run.ended = "interrupted"
    run.seconds = clock() - began
    return run


def ended_line(run: QuizRun, planned: int) -> str:
    answered = len(run.outcomes)
    if run.ended == "eof":
        return f"Input ended after {answered} of {planned} questions."
    if run.ended == "quit":
        return f"Stopped after {answered} of {planned} questions."
    if run.ended == "interrupted":
        return f"Interrupted after {answered} of {planned} questions."
    return ""


def answers_for(
    console: Console,
    look: Look,
    *,
    interactive: bool,
    read_key: ReadKey,
    stream: IO[str],
) -> Answers:
    """Keys in a terminal, one line each from `stream` otherwise."""
    return (
        KeyAnswers(console, read_key, look) if interactive else LineAnswers(console, stream, look)
    )
