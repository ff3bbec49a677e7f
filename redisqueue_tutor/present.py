"""Presenter mode: a lesson shown to a class, one key per beat.

A lesson becomes a list of beats. A step with a question for the class gets two: first the
question, with the command about to run and its result hidden; then the reveal. Other steps get
the reveal only. Steps run lazily, the first time a reveal needs them (stepper.Steps), so going back
shows the recorded step, never a re-run.

The question and the speaker notes are lesson data. The lesson format may carry them per step
(`ask`, `notes`); until it does, a step's key moment stands in: its question is put to the class at
the first step the moment names, and its answer serves as the speaker's notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.rule import Rule

from redisqueue_tutor.engine import LessonRun
from redisqueue_tutor.lesson_model import Lesson
from redisqueue_tutor.render import Look
from redisqueue_tutor.render_present import Slide, slide_screen
from redisqueue_tutor.stepper import Steps

NEXT_KEYS = ("\r", "\n", " ", "n", "N", "\x1b[C", "\x1bOC", "\x1b[B", "\x1bOB", "\x1b[6~", "\xe0M")
BACK_KEYS = ("b", "B", "p", "P", "\x1b[D", "\x1bOD", "\x1b[A", "\x1bOA", "\x1b[5~", "\xe0K")
QUIT_KEYS = ("q", "Q", "\x1b", "\x04")


@dataclass(frozen=True)
class Beat:
    """One screen of the presentation: a step's question (result hidden) or its reveal."""

    step: int
    reveal: bool
    question: str | None = None


def class_question(lesson: Lesson, number: int) -> str | None:
    """The question put to the class before step `number` is revealed, if any.

    A lesson that marks its prediction points with `ask` pauses exactly there; one that marks
    none pauses at the first step of each key moment, with the moment's question.
    """
    step = lesson.steps[number - 1]
    if any(s.ask for s in lesson.steps):
        return step.ask.strip() if step.ask else None
    moment = lesson.moment_for(number)
    if moment is not None and moment.steps[0] == number:
        return moment.question.strip()
    return None


def speaker_notes(lesson: Lesson, number: int, *, reveal: bool = True) -> tuple[str, str] | None:
    """(where they come from, the notes) for a step: its `notes`, else its key moment's answer.

    A key moment's answer answers the question put to the class, so it waits for the reveal.
    """
    notes = lesson.steps[number - 1].notes
    if notes:
        return ("Speaker notes", str(notes).strip())
    moment = lesson.moment_for(number)
    if moment is not None and reveal:
        return ("Speaker notes (from the key moment)", moment.answer.strip())
    return None


def beats(lesson: Lesson, *, pauses: bool = True) -> tuple[Beat, ...]:
    found: list[Beat] = []
    for number in range(1, len(lesson.steps) + 1):
        question = class_question(lesson, number)
        if pauses and question:
            found.append(Beat(number, reveal=False, question=question))
        found.append(Beat(number, reveal=True, question=question))
    return tuple(found)


@dataclass
class Clicker:
    """Which beat is on screen. One key forward (Enter, space, →, ↓, Page Down: what clickers send)."""

    total: int
    position: int = 0
    message: str = ""
    help: bool = False
    moves: list[int] = field(default_factory=list)

    def handle(self, key: str) -> bool:
        """Move for a key; False when the presenter quits."""
        self.message = ""
        self.help = False
        if key in QUIT_KEYS:
            return False
        if key in BACK_KEYS:
            if self.position == 0:
                self.message = "This is the first step."
            else:
                self.position -= 1
        elif key in ("r", "R"):
            self.position = 0
        elif key == "?":
            self.help = True
        elif key in NEXT_KEYS:
            if self.position >= self.total - 1:
                self.message = "End of the lesson: q to quit, b to go back."
            else:
                self.position += 1
        else:
            self.message = "Enter, space or → next · b or ← back · r restart · q quit"
        self.moves.append(self.position)
        return True


def _slide(
    run: LessonRun, steps: Steps, beat: Beat, backend: str, notes: bool, footer: str
) -> Slide:
    lesson = run.lesson
    shown = steps.upto(beat.step if beat.reveal else beat.step - 1)
    return Slide(
        lesson=lesson,
        start=run.start,
        records=shown,
        step=beat.step,
        total=len(lesson.steps),
        reveal=beat.reveal,
        question=beat.question,
        notes=speaker_notes(lesson, beat.step, reveal=beat.reveal) if notes else None,
        backend=backend,
        footer=footer,
    )


def _footer(clicker: Clicker, look: Look) -> str:
    keys = "Enter/space next · b back · r restart · ? help · q quit"
    if look.plain:
        keys = keys.replace(" · ", " | ")
    return f"{clicker.message}\n{keys}" if clicker.message else keys


HELP = (
    "Keys: Enter, space, n, →, ↓ or Page Down: next (a presentation clicker works too)\n"
    "      b, p, ←, ↑ or Page Up: back · r: restart · q or Esc: quit"
)
HELP_PLAIN = (
    "Keys: Enter, space, n, Right, Down or Page Down: next (a presentation clicker works too)\n"
    "      b, p, Left, Up or Page Up: back | r: restart | q or Esc: quit"
)


def present_interactive(
    run: LessonRun,
    console: Console,
    read_key: Callable[[], str],
    look: Look,
    backend: str,
    *,
    notes: bool = False,
    pauses: bool = True,
    seen: set[int] | None = None,
) -> int:
    """Present in a terminal, one screen per beat; returns the last step shown."""
    plan = beats(run.lesson, pauses=pauses)
    steps = Steps(run)
    clicker = Clicker(len(plan))
    while True:
        beat = plan[clicker.position]
        slide = _slide(run, steps, beat, backend, notes, _footer(clicker, look))
        console.clear()
        console.print(slide_screen(slide, look))
        if clicker.help:
            console.print(HELP_PLAIN if look.plain else HELP, markup=False)
        if seen is not None and beat.reveal:
            seen.add(beat.step)
        if not clicker.handle(read_key()):
            return beat.step


def present_through(
    run: LessonRun,
    console: Console,
    look: Look,
    backend: str,
    *,
    notes: bool = False,
    pauses: bool = True,
    delay: float = 0.0,
    clear: bool = False,
    sleep: Callable[[float], None] | None = None,
    seen: set[int] | None = None,
) -> int:
    """Every beat in turn: piped (printed one after another) or hands-free with a delay."""
    plan = beats(run.lesson, pauses=pauses)
    steps = Steps(run)
    for index, beat in enumerate(plan):
        slide = _slide(run, steps, beat, backend, notes, "")
        if clear:
            console.clear()
        elif index:
            console.print(Rule(style="dim", characters="-" if look.plain else "─"))
        console.print(slide_screen(slide, look))
        if seen is not None and beat.reveal:
            seen.add(beat.step)
        if delay and index < len(plan) - 1:
            (sleep or time.sleep)(delay)
    return len(run.lesson.steps)
