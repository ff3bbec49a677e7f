"""Stepping through a lesson: forward, back, restart, jump, auto-play and piped output.

`Navigator` and `AutoPlay` are the pure key-to-move logic; `play_interactive` and `play_auto`
wire them to a console, a key reader and a run. `play_predict` is predict mode: before a step's
result is shown the learner guesses it. Steps run lazily, the first time they are reached; going
back shows the recorded step, never a re-run, so an earlier screen is exactly what it was.

Every frame is fitted to the terminal (screens/frame.py); a resized terminal is redrawn at once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.frame import (
    Scroller,
    draw,
    fitted_frame,
    keys_help,
    rule,
    sep,
    with_footer,
)
from redisqueue_tutor.screens.keys import BACKSPACE, ENTER, LEFT, RESIZE, RIGHT, TIMEOUT, ReadKey
from redisqueue_tutor.screens.step import StepView, end_page, step_screen

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun

KEYS_HELP = (
    ("Enter, n, →", "next step"),
    ("b, ←", "back one step"),
    ("r", "restart from step 1"),
    ("3 Enter", "jump to step 3"),
    ("k", "open or fold the key moment"),
    ("x", "the step in full: payloads, quiet commands (a scenario lesson)"),
    ("g", "the glossary: head, tail, nil, ack, ..."),
    ("?", "this help"),
    ("q", "quit"),
)
AUTO_KEYS_HELP = (
    ("space", "pause and resume"),
    ("→, ←", "next or previous step now"),
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


WIDE = 80  # columns from which the footer spells every key out


def _footer(
    nav: Navigator,
    look: Look,
    *,
    folded: bool = False,
    width: int = WIDE,
    full: bool = False,
    more: bool = False,
) -> str:
    arrow_r, arrow_l = ("->", "<-") if look.plain else ("→", "←")
    if width < WIDE:  # the same keys in fewer words; ? lists them all
        arrow_r = arrow_l = ""
    if nav.digits:
        return f"Jump to step {nav.digits}_  (Enter to go, Backspace to edit)"
    moment = [("k key moment" if width >= WIDE else "k moment")] if folded else []
    words = ["g glossary"] if width >= WIDE else []
    if full and 1 <= nav.position <= nav.total:
        words = ["x in full", *words]
    if nav.position >= nav.last:
        # A closing taller than the terminal: Enter shows the rest before it quits.
        end = ["The end: Enter more", "q quit"] if more else ["The end: Enter/q quit"]
        keys = [*end, f"b/{arrow_l} back".rstrip("/"), *moment, "? help"]
    elif nav.position == 0:
        keys = [f"Enter/{arrow_r} step 1".replace("/ ", " "), *words, "? help", "q quit"]
    else:
        keys = [f"Enter/{arrow_r}".rstrip("/") + " next", f"b/{arrow_l}".rstrip("/") + " back"]
        keys += [*moment, *words, "? help", "q quit"]
    line = sep(look).join(keys)
    if len(line) >= width and "g glossary" in keys:  # ? lists it: one line, never two
        line = sep(look).join(k for k in keys if k != "g glossary")
    return f"{nav.message}\n{line}" if nav.message else line


@dataclass
class Opening:
    """What comes before step 1 (the lesson's concept card) and after the last (what next)."""

    card: Callable[[Console], Renderable] | None = None
    next_hint: str = ""


class _Pages:
    """What interactive stepping draws at each position: the concept card (0) when the lesson
    has one, the steps, and the closing page after the last step when there is a closing."""

    def __init__(self, run: LessonRun, backend: str, opening: Opening) -> None:
        lesson = run.lesson
        self.run, self.backend, self.opening = run, backend, opening
        self.steps = Steps(run)
        self.total = len(lesson.steps)
        self.first = 0 if opening.card else 1
        self.closing = bool(lesson.compare or lesson.end_note or opening.next_hint)
        self.scroller = Scroller()
        self.moment_wanted = False  # k opened the key moment of the step shown

    def step_key(
        self, key: str, nav: Navigator, console: Console, read_key: ReadKey, look: Look
    ) -> bool:
        """k opens or folds the key moment; x shows a scenario's step in full. False: quit."""
        if key in ("k", "K"):
            self.moment_wanted = not self.moment_wanted
            return True
        scenario = getattr(self.run.lesson, "scenario", None)
        return scenario is None or self.show_full(nav, console, read_key, look)

    def scrolled(self, key: str) -> bool:
        """The closing page's keys: ↑/↓ and the page keys scroll it, and Enter shows the rest
        before it quits. False: not one of them."""
        if self.scroller.handle(key):
            return True
        if key in ENTER and self.scroller.below:
            self.scroller.offset += self.scroller.room
            return True
        return False

    def draw(self, nav: Navigator, console: Console, look: Look, *, moment_wanted: bool) -> bool:
        """Draw the page at the navigator's position; True when it is a step that fitted."""
        lesson, opening = self.run.lesson, self.opening
        if nav.position == 0 and opening.card is not None:
            footer = _footer(nav, look, width=console.width)
            draw(console, with_footer(opening.card(console), footer, console))
            return False
        if nav.position > self.total:
            body = end_page(lesson, self.steps.upto(self.total), look, opening.next_hint)
            footer = _footer(nav, look, width=console.width)
            more = _footer(nav, look, width=console.width, more=True)
            draw(console, self.scroller.frame(console, body, footer, look, more=more))
            return False
        view = StepView(
            lesson,
            self.run.start,
            self.steps.upto(nav.position),
            self.total,
            self.backend,
            next_hint=opening.next_hint,
            closing=not self.closing,
        )
        has_moment = lesson.moment_for(nav.position) is not None
        full = getattr(lesson, "scenario", None) is not None
        footer = _footer(nav, look, folded=has_moment, width=console.width, full=full)
        frame, fitted = fitted_frame(
            replace(view, footer=footer), console, look, moment_wanted=moment_wanted
        )
        draw(console, frame)
        return fitted is not None

    def draw_full(self, nav: Navigator, console: Console, look: Look) -> None:
        """The current step in full (x): its payloads and the commands its row left out."""
        from redisqueue_tutor.screens.step import code_of, expanded_panel

        record = self.steps.upto(nav.position)[-1]
        footer = "x or Esc back" + sep(look) + "q quit"
        panel = expanded_panel(record, look, code_of(self.run.lesson, record))
        draw(console, self.scroller.frame(console, panel, footer, look))

    def show_full(self, nav: Navigator, console: Console, read_key: ReadKey, look: Look) -> bool:
        """The current step in full until x, Esc or Enter; False when the learner quit (q)."""
        self.scroller.offset = 0
        while True:
            self.draw_full(nav, console, look)
            key = read_key()
            if key.lower() == "q":
                return False
            if key in ("x", "X", "\x1b") or key in ENTER:
                self.scroller.offset = 0
                return True
            if key not in (RESIZE, TIMEOUT):
                self.scroller.handle(key)


def _overlaid(console: Console, overlay: Renderable, read_key: ReadKey) -> bool:
    """Help or the glossary, drawn until a key (a resize draws it again); False for q."""
    while True:
        draw(console, overlay)
        key = read_key()
        if key != RESIZE:
            return key.lower() != "q"


class Interruption(Protocol):
    """Something that may take the screen between two keys: a class's poll (modes/attend.py)."""

    def offer(self, console: Console, read_key: ReadKey, look: Look) -> bool:
        """Take the screen if there is something to show; True when it did (redraw after)."""
        ...


CHECK_EVERY = 1.0  # seconds between two looks for an interruption while waiting for a key


def next_key(
    console: Console, read_key: ReadKey, look: Look, interruption: Interruption | None
) -> str:
    """The next key; while none comes, an interruption may take the screen (then TIMEOUT, to
    redraw the lesson)."""
    if interruption is None:
        return read_key()
    while True:
        key = read_key(CHECK_EVERY)
        if key != TIMEOUT or interruption.offer(console, read_key, look):
            return key


def play_interactive(
    run: LessonRun,
    console: Console,
    read_key: ReadKey,
    look: Look,
    backend: str,
    *,
    seen: set[int] | None = None,
    opening: Opening | None = None,
    glossary: Callable[[Console], Renderable] | None = None,
    interruption: Interruption | None = None,
) -> int:
    """Step with keys, one fitted screen at a time: the concept card, the steps, the closing.
    `interruption` (a class the learner joined) may take the screen between two keys."""
    pages = _Pages(run, backend, opening or Opening())
    total = pages.total
    nav = Navigator(total, position=pages.first, first=pages.first, end_page=pages.closing)
    overlay: Renderable | None = None
    while True:
        if overlay is not None:  # help or the glossary: any key goes back, q quits
            if not _overlaid(console, overlay, read_key):
                return min(nav.position, total)
            overlay = None
            continue
        if pages.draw(nav, console, look, moment_wanted=pages.moment_wanted) and seen is not None:
            seen.add(nav.position)
        key = next_key(console, read_key, look, interruption)
        if key in (RESIZE, TIMEOUT):
            continue
        if nav.position > total and pages.scrolled(key):
            continue
        if key in ("k", "K", "x", "X") and 1 <= nav.position <= total:
            if not pages.step_key(key, nav, console, read_key, look):
                return min(nav.position, total)
            continue
        if key in ("g", "G") and glossary is not None:
            overlay = glossary(console)
            continue
        before = nav.position
        move = nav.handle(key)
        if nav.position != before:
            pages.moment_wanted = False
            pages.scroller.offset = 0
        if move is Move.QUIT:
            return min(nav.position, total)
        if move is Move.HELP:
            overlay = keys_help(KEYS_HELP)


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
        if not clear and record.number < total:
            # Printed one after another, each step's table holds its own row and the tracker its
            # one line of what the variables hold now: the earlier ones are just above. The last
            # step shows the whole table and tracker, the lesson's summary.
            view = replace(view, table_from=len(records) - 1, tracker_latest=0, interactive=False)
        if clear:
            console.clear()
        elif record.number > 1 or opening.card is not None:
            console.print(rule(look))
        console.print(step_screen(view, look))
        if seen is not None:
            seen.add(record.number)
        if delay and record.number < total:
            (sleep or time.sleep)(delay)
    return total


@dataclass
class AutoPlay:
    """Auto-play's keys, apart from its clock: space pauses and resumes, → and ← step at once,
    q (or Enter after the last step) quits."""

    total: int
    position: int
    first: int = 1  # 0 when the lesson opens on its concept card
    paused: bool = False

    def handle(self, key: str) -> Move:
        """QUIT; GO when the key moved or paused (the next step is due a delay from now); STAY."""
        lower = key.lower()
        if lower == "q" or key in ("\x1b", "\x04"):
            return Move.QUIT
        if key == " ":
            self.paused = not self.paused
            return Move.GO
        if key in RIGHT or lower == "n" or key in ENTER:
            if self.position < self.total:
                self.position += 1
            elif key in ENTER:
                return Move.QUIT
            return Move.GO
        if key in LEFT or lower in ("b", "p"):
            self.position = max(self.first, self.position - 1)
            return Move.GO
        return Move.STAY


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
    first = 0 if opening.card else 1
    auto = AutoPlay(total, position=first, first=first)
    due = clock() + delay
    while True:
        position, paused = auto.position, auto.paused
        dot = sep(look)
        arrows = "Left/Right" if look.plain else "←/→"
        state = "Paused" if paused else f"Auto-play, a step every {delay:g} s"
        if position >= total and not paused:
            state = "End of the lesson"
        footer = dot.join(
            [state, "space " + ("resume" if paused else "pause"), f"{arrows} step", "q quit"]
        )
        if position == 0 and opening.card is not None:
            draw(console, with_footer(opening.card(console), footer, console))
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
                auto.position += 1
                due = clock() + delay
            continue
        move = auto.handle(key)
        if move is Move.QUIT:
            return auto.position
        if move is Move.GO:
            due = clock() + delay
