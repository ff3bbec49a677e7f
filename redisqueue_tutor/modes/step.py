"""Stepping through a lesson: forward, back, restart, jump, auto-play and piped output.

`Navigator` is the pure key-to-move logic; `play_interactive` and `play_auto` wire it to a console,
a key reader and a run. `play_predict` is predict mode: before a step's result is shown the learner
guesses it. Steps run lazily, the first time they are reached; going back shows the recorded step,
never a re-run, so an earlier screen is exactly what it was.

Every frame is fitted to the terminal (`fit_to_screen`): first the key moment folds to its
question (k opens it), then the tracker shrinks to its latest moments and to one line, then the
table's older rows give way to a note; when even that does not fit, the screen says how big the
terminal must be. A resized terminal is redrawn at once.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.screens.keys import RESIZE, TIMEOUT, ReadKey
from redisqueue_tutor.screens.step import Look, StepView, end_page, step_screen, too_small

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun
    from redisqueue_tutor.screens.quiz import Answers

RIGHT = ("\x1b[C", "\x1bOC", "\xe0M")
LEFT = ("\x1b[D", "\x1bOD", "\xe0K")
ENTER = ("\r", "\n")
BACKSPACE = ("\x7f", "\x08")

KEYS_HELP = (
    ("Enter, n, →", "next step"),
    ("b, ←", "back one step"),
    ("r", "restart from step 1"),
    ("3 Enter", "jump to step 3"),
    ("k", "open or fold the key moment"),
    ("g", "the glossary: head, tail, nil, ack, ..."),
    ("?", "this help"),
    ("q", "quit"),
)
AUTO_KEYS_HELP = (
    ("space", "pause and resume"),
    ("→, ←", "next or previous step now"),
    ("q", "quit"),
)

MIN_WIDTH = 60  # the compact table stays readable down to here


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
    first: int = 1  # 0 when the lesson opens on its concept card
    end_page: bool = False  # a page after the last step (the lesson's closing)

    @property
    def last(self) -> int:
        return self.total + 1 if self.end_page else self.total

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
            if self.position >= self.last:
                return Move.QUIT if key in ENTER else Move.STAY
            return self._go(self.position + 1)
        if key in LEFT or lower in ("b", "p"):
            if self.position <= self.first:
                self.message = "This is the first step." if self.first else "This is the start."
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


def _sep(look: Look) -> str:
    return " | " if look.plain else " · "


def _footer(nav: Navigator, look: Look, *, folded: bool = False, width: int = 80) -> str:
    arrow_r, arrow_l = ("->", "<-") if look.plain else ("→", "←")
    if width < 80:  # the same keys in fewer words; ? lists them all
        arrow_r = arrow_l = ""
    if nav.digits:
        return f"Jump to step {nav.digits}_  (Enter to go, Backspace to edit)"
    moment = [("k key moment" if width >= 80 else "k moment")] if folded else []
    words = ["g glossary"] if width >= 80 else []
    if nav.position >= nav.last:
        keys = ["The end: Enter/q quit", f"b/{arrow_l} back".rstrip("/"), *moment, "? help"]
    elif nav.position == 0:
        keys = [f"Enter/{arrow_r} step 1".replace("/ ", " "), *words, "? help", "q quit"]
    else:
        keys = [f"Enter/{arrow_r}".rstrip("/") + " next", f"b/{arrow_l}".rstrip("/") + " back"]
        keys += [*moment, *words, "? help", "q quit"]
    line = _sep(look).join(keys)
    return f"{nav.message}\n{line}" if nav.message else line


def _help_text(rows: tuple[tuple[str, str], ...] = KEYS_HELP) -> Text:
    text = Text("Keys\n", style="bold")
    for keys, what in rows:
        text.append(f"  {keys:<12} {what}\n")
    text.append("\nAny key goes back to the lesson.", style="dim")
    return text


# --------------------------------------------------------------------------------------------------
# Fitting a frame to the terminal


def _height(console: Console, renderable: RenderableType) -> int:
    return len(console.render_lines(renderable, console.options, pad=False))


def fit_to_screen(
    view: StepView, console: Console, look: Look, *, moment_wanted: bool = False
) -> StepView | None:
    """The view reduced until it fits the terminal, or None when nothing readable fits.

    In order: the key moment folds to its question (unless the learner asked for it with k),
    the tracker keeps Start and its latest moments, then only one line ("Now: ..."), then the
    table's oldest rows give way to a note of what is above; the current row always stays. A
    frame uses at most height - 1 lines, so the first line never scrolls away.
    """
    width, height = console.size
    if width < MIN_WIDTH:
        return None

    def fits(candidate: StepView) -> bool:
        return _height(console, step_screen(candidate, look)) < height

    if fits(view):
        return view
    steps = [
        *([{"moment_open": False}] if not moment_wanted else []),
        {"tracker_latest": 3},
        {"tracker_latest": 2},
        {"tracker_latest": 1},
        {"tracker_latest": 0},
    ]
    for change in steps:
        view = replace(view, **change)  # type: ignore[arg-type]
        if fits(view):
            return view
    last = len(view.records) - 1  # hiding every row before the current one
    if last >= 1:
        if fits(replace(view, table_from=last)):
            low, high = 1, last  # the fewest hidden rows that fit: more hidden, fewer lines
            while low < high:
                middle = (low + high) // 2
                if fits(replace(view, table_from=middle)):
                    high = middle
                else:
                    low = middle + 1
            return replace(view, table_from=low)
        view = replace(view, table_from=last)
    for change in ({"moment_open": False}, {"show_code": False}, {"tight": True}):
        view = replace(view, **change)  # type: ignore[arg-type]
        if fits(view):
            return view
    return None


def _most_reduced(view: StepView) -> StepView:
    return replace(
        view,
        moment_open=False,
        tracker_latest=0,
        table_from=max(len(view.records) - 1, 0),
        show_code=False,
        tight=True,
    )


def fitted_frame(
    view: StepView, console: Console, look: Look, *, moment_wanted: bool = False
) -> tuple[RenderableType, StepView | None]:
    """What to draw: the fitted step screen, or how big the terminal must be."""
    fitted = fit_to_screen(view, console, look, moment_wanted=moment_wanted)
    if fitted is not None:
        return step_screen(fitted, look), fitted
    width, height = console.size
    narrow = replace(console.options, max_width=max(width, MIN_WIDTH))
    need_height = len(
        console.render_lines(
            step_screen(
                _most_reduced(view),
                look,
            ),
            narrow,
            pad=False,
        )
    )
    need = (
        max(width, MIN_WIDTH),
        max(height, need_height + 1) if width >= MIN_WIDTH else need_height + 1,
    )
    return too_small(width, height, need, look), None


def fit_renderable(
    parts: list[RenderableType], console: Console, keep: int = 1
) -> list[RenderableType]:
    """Drop parts from the end (but the first `keep`) until the rest fits the terminal's height."""
    from rich.console import Group

    height = console.size.height
    while len(parts) > keep and _height(console, Group(*parts)) >= height:
        parts = parts[:-1]
    return parts


UP_KEYS = ("\x1b[A", "\x1bOA", "k", "K")
DOWN_KEYS = ("\x1b[B", "\x1bOB", "j", "J")
PAGE_UP = ("\x1b[5~",)
PAGE_DOWN = ("\x1b[6~", " ")


@dataclass
class Scroller:
    """A page taller than the terminal, shown a window at a time (↑/↓, Page Up/Down, space)."""

    offset: int = 0

    def frame(self, console: Console, body: RenderableType, footer: str, look: Look) -> Group:
        from rich.segment import Segment, Segments

        lines = console.render_lines(body, console.options, pad=False)
        arrows = "Up/Down" if look.plain else "↑/↓"
        scrolling = _sep(look).join(
            [f"lines 10000-10000 of {len(lines)}", f"{arrows} scroll", footer]
        )
        room = max(console.size.height - 1 - _height(console, Text(scrolling)), 1)
        if len(lines) <= console.size.height - 1 - _height(console, Text(footer)):
            room = len(lines)
        self.offset = max(0, min(self.offset, len(lines) - room))
        shown = lines[self.offset : self.offset + room]
        segments: list[Segment] = []
        for line in shown:
            segments.extend(line)
            segments.append(Segment.line())
        if len(lines) > room:
            where = f"lines {self.offset + 1}-{self.offset + len(shown)} of {len(lines)}"
            footer = _sep(look).join([where, f"{arrows} scroll", footer])
        self.room = room
        return Group(Segments(segments), Text(footer, style="dim"))

    def handle(self, key: str) -> bool:
        """Scroll for a scrolling key; False for any other key."""
        step = getattr(self, "room", 10)
        if key in UP_KEYS:
            self.offset -= 1
        elif key in DOWN_KEYS:
            self.offset += 1
        elif key in PAGE_UP:
            self.offset -= step
        elif key in PAGE_DOWN:
            self.offset += step
        else:
            return False
        self.offset = max(self.offset, 0)
        return True


def draw(console: Console, renderable: RenderableType) -> None:
    console.clear()
    console.print(renderable)


# --------------------------------------------------------------------------------------------------
# Playing a lesson


@dataclass
class Opening:
    """What comes before step 1 (the lesson's concept card) and after the last (what next)."""

    card: Callable[[Console], RenderableType] | None = None
    next_hint: str = ""


def play_interactive(
    run: LessonRun,
    console: Console,
    read_key: ReadKey,
    look: Look,
    backend: str,
    *,
    seen: set[int] | None = None,
    opening: Opening | None = None,
    glossary: Callable[[Console], RenderableType] | None = None,
) -> int:
    """Step with keys, one fitted screen at a time: the concept card, the steps, the closing."""
    steps = Steps(run)
    lesson = run.lesson
    total = len(lesson.steps)
    opening = opening or Opening()
    start = 0 if opening.card else 1
    closing = bool(lesson.compare or lesson.end_note or opening.next_hint)
    nav = Navigator(total, position=start, first=start, end_page=closing)
    overlay: RenderableType | None = None
    moment_wanted = False
    scroller = Scroller()
    while True:
        if overlay is not None:  # help or the glossary: any key goes back, q quits
            draw(console, overlay)
            key = read_key()
            if key.lower() == "q":
                return min(nav.position, total)
            if key != RESIZE:
                overlay = None
            continue
        if nav.position == 0 and opening.card is not None:
            footer = _footer(nav, look, width=console.width)
            draw(console, _with_footer(opening.card(console), footer, console))
        elif nav.position > total:
            body = end_page(lesson, steps.upto(total), look, opening.next_hint)
            footer = _footer(nav, look, width=console.width)
            draw(console, scroller.frame(console, body, footer, look))
        else:
            view = StepView(
                lesson,
                run.start,
                steps.upto(nav.position),
                total,
                backend,
                next_hint=opening.next_hint,
                closing=not closing,
            )
            has_moment = lesson.moment_for(nav.position) is not None
            footer = _footer(nav, look, folded=has_moment, width=console.width)
            frame, fitted = fitted_frame(
                replace(view, footer=footer), console, look, moment_wanted=moment_wanted
            )
            draw(console, frame)
            if seen is not None and fitted is not None:
                seen.add(nav.position)
        key = read_key()
        if key in (RESIZE, TIMEOUT):
            continue
        if nav.position > total and scroller.handle(key):
            continue
        if key in ("k", "K") and 1 <= nav.position <= total:
            moment_wanted = not moment_wanted
            continue
        if key in ("g", "G") and glossary is not None:
            overlay = glossary(console)
            continue
        before = nav.position
        move = nav.handle(key)
        if nav.position != before:
            moment_wanted = False
            scroller.offset = 0
        if move is Move.QUIT:
            return min(nav.position, total)
        if move is Move.HELP:
            overlay = _help_text()


def _with_footer(body: RenderableType, footer: str, console: Console) -> RenderableType:
    from rich.console import Group

    return Group(*fit_renderable([Text(footer, style="dim"), body], console)[::-1])


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
    opening: Opening | None = None,
) -> int:
    """Show every step in turn, printed one after the other (piped, or a terminal that is not
    interactive)."""
    total = len(run.lesson.steps)
    opening = opening or Opening()
    if opening.card is not None:
        console.print(opening.card(console))
    records: list[StepRecord] = []
    for record in run:
        records.append(record)
        view = StepView(
            run.lesson, run.start, tuple(records), total, backend, next_hint=opening.next_hint
        )
        if clear:
            console.clear()
        elif record.number > 1 or opening.card is not None:
            console.print(Rule(style="dim", characters="-" if look.plain else "─"))
        console.print(step_screen(view, look))
        if seen is not None:
            seen.add(record.number)
        if delay and record.number < total:
            (sleep or time.sleep)(delay)
    return total


def play_auto(
    run: LessonRun,
    console: Console,
    read_key: ReadKey,
    look: Look,
    backend: str,
    *,
    delay: float,
    seen: set[int] | None = None,
    opening: Opening | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Hands-free in a terminal: a step every `delay` seconds; space pauses and resumes, → and ←
    step at once, q quits. Each frame is fitted like an interactive one."""
    steps = Steps(run)
    total = len(run.lesson.steps)
    opening = opening or Opening()
    position = 0 if opening.card else 1
    paused = False
    due = clock() + delay
    while True:
        sep = _sep(look)
        arrows = "Left/Right" if look.plain else "←/→"
        state = "Paused" if paused else f"Auto-play, a step every {delay:g} s"
        if position >= total and not paused:
            state = "End of the lesson"
        footer = sep.join(
            [state, "space " + ("resume" if paused else "pause"), f"{arrows} step", "q quit"]
        )
        if position == 0 and opening.card is not None:
            draw(console, _with_footer(opening.card(console), footer, console))
        else:
            view = StepView(
                run.lesson,
                run.start,
                steps.upto(position),
                total,
                backend,
                footer=footer,
                next_hint=opening.next_hint,
            )
            frame, fitted = fitted_frame(view, console, look)
            draw(console, frame)
            if seen is not None and fitted is not None:
                seen.add(position)
        wait = None if paused or position >= total else max(0.0, due - clock())
        key = read_key(wait)
        if key == RESIZE:
            continue
        if key == TIMEOUT:
            if not paused and position < total:
                position += 1
                due = clock() + delay
            continue
        lower = key.lower()
        if lower == "q" or key in ("\x1b", "\x04"):
            return position
        if key == " ":
            paused = not paused
            due = clock() + delay
        elif key in RIGHT or lower == "n" or key in ENTER:
            if position < total:
                position += 1
            elif key in ENTER:
                return position
            due = clock() + delay
        elif key in LEFT or lower in ("b", "p"):
            position = max(0 if opening.card else 1, position - 1)
            due = clock() + delay


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
    from redisqueue_tutor.lessons.quiz import grade, predict_question, select
    from redisqueue_tutor.screens.quiz import Ended, KeyAnswers, QuestionView, feedback

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
        view_n = StepView(lesson, run.start, tuple(records), total, backend)
        if isinstance(answers, KeyAnswers):
            # A fitted frame, the prompt as its footer; then a key (q stops).
            prompt = "Press any key for the next step (q to stop)." if n < total else ""
            while True:
                draw(console, fitted_frame(replace(view_n, footer=prompt), console, look)[0])
                key = answers.read_key()
                if key not in (RESIZE, TIMEOUT):
                    break
            if seen is not None:
                seen.add(n)
            if n < total and key in ("q", "Q", "\x1b", "\x04"):
                score.ended = "quit"
                break
            continue
        if n > 1:
            console.print(Rule(style="dim", characters="-" if look.plain else "─"))
        console.print(step_screen(view_n, look))
        if seen is not None:
            seen.add(n)
    if score.asked:
        console.print(score.line, markup=False)
    return score
