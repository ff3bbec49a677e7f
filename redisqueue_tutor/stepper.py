"""Stepping through a lesson: forward, back, restart, jump, auto-play and piped output.

`Navigator` is the pure key-to-move logic; `play` wires it to a console, a key reader and a run.
`play_predict` is predict mode: before a step's result is shown the learner guesses it.
Steps run lazily, the first time they are reached; going back shows the recorded step, never a
re-run, so an earlier screen is exactly what it was.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from redisqueue_tutor.records import StepRecord
from redisqueue_tutor.render import Look, StepView, step_screen

if TYPE_CHECKING:
    from redisqueue_tutor.engine import LessonRun
    from redisqueue_tutor.render_quiz import Answers

RIGHT = ("\x1b[C", "\x1bOC", "\xe0M")
LEFT = ("\x1b[D", "\x1bOD", "\xe0K")
ENTER = ("\r", "\n")
BACKSPACE = ("\x7f", "\x08")

KEYS_HELP = (
    ("Enter, n, →", "next step"),
    ("b, ←", "back one step"),
    ("r", "restart from step 1"),
    ("3 Enter", "jump to step 3"),
    ("?", "this help"),
    ("q", "quit"),
)


class Move(enum.Enum):
    STAY = "stay"
    GO = "go"
    HELP = "help"
    QUIT = "quit"


@dataclass
class Navigator:
    total: int
    position: int = 1
    digits: str = ""
    message: str = ""
    history: list[int] = field(default_factory=list)

    def handle(self, key: str) -> Move:
        self.message = ""
        if key.isdigit() and len(key) == 1:
            self.digits = (self.digits + key)[-4:]
            return Move.STAY
        if key in BACKSPACE:
            self.digits = self.digits[:-1]
            return Move.STAY
        if key in ENTER and self.digits:
            target = int(self.digits)
            self.digits = ""
            if 1 <= target <= self.total:
                return self._go(target)
            self.message = f"There is no step {target}; steps go from 1 to {self.total}."
            return Move.STAY
        self.digits = ""
        lower = key.lower()
        if key in ENTER or key in RIGHT or lower in ("n", " "):
            if self.position >= self.total:
                return Move.QUIT if key in ENTER else Move.STAY
            return self._go(self.position + 1)
        if key in LEFT or lower in ("b", "p"):
            if self.position <= 1:
                self.message = "This is the first step."
                return Move.STAY
            return self._go(self.position - 1)
        if lower == "r":
            return self._go(1)
        if key == "?":
            return Move.HELP
        if lower == "q" or key in ("\x1b", "\x04"):
            return Move.QUIT
        return Move.STAY

    def _go(self, target: int) -> Move:
        self.history.append(self.position)
        self.position = target
        return Move.GO


class Steps:
    """The records of a run, executed on demand."""

    def __init__(self, run: LessonRun) -> None:
        self.run = run
        self.records: list[StepRecord] = []

    def upto(self, number: int) -> tuple[StepRecord, ...]:
        while len(self.records) < number:
            self.records.append(self.run.next_step())
        return tuple(self.records[:number])


def _footer(nav: Navigator, look: Look) -> str:
    arrow_r, arrow_l = ("->", "<-") if look.plain else ("→", "←")
    if nav.digits:
        return f"Jump to step {nav.digits}_  (Enter to go, Backspace to edit)"
    if nav.position >= nav.total:
        keys = f"End of the lesson. Enter/q quit · b/{arrow_l} back · r restart · ? help"
    else:
        keys = (
            f"Enter/{arrow_r} next · b/{arrow_l} back · r restart · "
            f"1-{nav.total} Enter jump · ? help · q quit"
        )
    if look.plain:
        keys = keys.replace(" · ", " | ")
    return f"{nav.message}\n{keys}" if nav.message else keys


def _help_text() -> Text:
    text = Text("Keys\n", style="bold")
    for keys, what in KEYS_HELP:
        text.append(f"  {keys:<12} {what}\n")
    return text


def fit_to_screen(view: StepView, console: Console, look: Look) -> StepView:
    """The view trimmed to the terminal's height: first the tracker's older moments, then the
    table's earliest rows. The current step and the key moment matter most; going back shows the
    rest.
    """
    height = console.size.height
    options = console.options

    def fits(candidate: StepView) -> bool:
        lines = console.render_lines(step_screen(candidate, look), options, pad=False)
        return len(lines) < height

    if fits(view):
        return view
    for latest in (3, 2):
        candidate = replace(view, tracker_latest=latest)
        if fits(candidate):
            return candidate
    view = replace(view, tracker_latest=2)
    for start in range(1, max(len(view.records) - 2, 0) + 1):
        candidate = replace(view, table_from=start)
        if fits(candidate):
            return candidate
    return replace(view, table_from=max(len(view.records) - 2, 0))


def play_interactive(
    run: LessonRun,
    console: Console,
    read_key: Callable[[], str],
    look: Look,
    backend: str,
    *,
    seen: set[int] | None = None,
) -> int:
    steps = Steps(run)
    total = len(run.lesson.steps)
    nav = Navigator(total)
    show_help = False
    while True:
        view = fit_to_screen(
            StepView(
                run.lesson, run.start, steps.upto(nav.position), total, backend, _footer(nav, look)
            ),
            console,
            look,
        )
        console.clear()
        console.print(step_screen(view, look))
        if seen is not None:
            seen.add(nav.position)
        if show_help:
            console.print(_help_text())
            show_help = False
        move = nav.handle(read_key())
        if move is Move.QUIT:
            return nav.position
        if move is Move.HELP:
            show_help = True


def play_through(
    run: LessonRun,
    console: Console,
    look: Look,
    backend: str,
    *,
    delay: float = 0.0,
    clear: bool = False,
    sleep: Callable[[float], None] | None = None,
    seen: set[int] | None = None,
) -> int:
    """Show every step in turn: auto-play in a terminal, or each step printed when piped."""
    total = len(run.lesson.steps)
    records: list[StepRecord] = []
    for record in run:
        records.append(record)
        view = StepView(run.lesson, run.start, tuple(records), total, backend)
        if clear:
            console.clear()
        elif record.number > 1:
            console.print(Rule(style="dim", characters="-" if look.plain else "─"))
        console.print(step_screen(view, look))
        if seen is not None:
            seen.add(record.number)
        if delay and record.number < total:
            (sleep or time.sleep)(delay)
    return total


# --------------------------------------------------------------------------------------------------
# Predict mode


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
    from redisqueue_tutor.quiz import grade, predict_question, select
    from redisqueue_tutor.render_quiz import Ended, QuestionView, feedback

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
                console.print(feedback(item, outcome, look))
                if answers.interactive and not answers.pause(f"Press any key to see step {n}."):
                    score.ended = "quit"
                    break
        view_n = StepView(lesson, run.start, tuple(records), total, backend)
        if answers.interactive:
            console.clear()
        elif n > 1:
            console.print(Rule(style="dim", characters="-" if look.plain else "─"))
        console.print(step_screen(view_n, look))
        if seen is not None:
            seen.add(n)
        if (
            answers.interactive
            and n < total
            and not answers.pause("Press any key for the next step (q to stop).")
        ):
            score.ended = "quit"
            break
    if score.asked:
        console.print(score.line, markup=False)
    return score
