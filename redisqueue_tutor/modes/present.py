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
from pathlib import Path

from redisqueue_tutor.lessons.engine import LessonRun
from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.modes.step import Steps
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.frame import rule, with_footer
from redisqueue_tutor.screens.keys import RESIZE, TIMEOUT, ReadKey
from redisqueue_tutor.screens.present import Slide, slide_frame, slide_screen

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

    Notes talk about the result, so on the projected screen they wait for the reveal; the
    presenter can read them ahead in the notes file (`--notes-file`).
    """
    if not reveal:
        return None
    notes = lesson.steps[number - 1].notes
    if notes:
        return ("Speaker notes", str(notes).strip())
    moment = lesson.moment_for(number)
    if moment is not None:
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
    run: LessonRun, steps: Steps, beat: Beat, backend: str, *, notes: bool, footer: str
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


class NotesFile:
    """The presenter's own view, for a second terminal (`tail -f FILE`): each beat's question,
    notes and key moment, before the class sees the result."""

    def __init__(self, path: Path, lesson: Lesson) -> None:
        self.path = path
        self.lesson = lesson
        self._last: tuple[int, bool] | None = None
        with path.open("w", encoding="utf-8") as stream:
            stream.write(f"Speaker notes: {lesson.title}\n")

    def beat(self, beat: Beat) -> None:
        if self._last == (beat.step, beat.reveal) or beat.step == 0:
            return
        self._last = (beat.step, beat.reveal)
        lesson = self.lesson
        step = lesson.steps[beat.step - 1]
        when = "the result is revealed" if beat.reveal else "the class is asked, result hidden"
        lines = [f"\n== Step {beat.step} of {len(lesson.steps)}: {when} ==", step.action]
        if beat.question and not beat.reveal:
            lines.append(f"Ask: {beat.question}")
        notes = speaker_notes(lesson, beat.step)
        if notes:
            lines.append(f"{notes[0]}: {notes[1]}")
        moment = lesson.moment_for(beat.step)
        if moment is not None and (not notes or notes[0] == "Speaker notes"):
            lines.append(f"Key moment: {moment.question.strip()} {moment.answer.strip()}")
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write("\n".join(lines) + "\n")


@dataclass
class Deck:
    """What a presentation shows: an optional title slide, then the beats of the lesson."""

    run: LessonRun
    backend: str
    notes: bool
    pauses: bool
    card: Callable[[Console], Renderable] | None = None
    notes_file: NotesFile | None = None
    # Told the index of every screen shown (a class following the presenter: classroom/follow).
    follow: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        title = [Beat(0, reveal=True)] if self.card is not None else []
        self.plan = (*title, *beats(self.run.lesson, pauses=self.pauses))
        self.steps = Steps(self.run)

    def frame(
        self, index: int, console: Console, look: Look, footer: str
    ) -> tuple[Renderable, bool]:
        beat = self.plan[index]
        if self.notes_file is not None:
            self.notes_file.beat(beat)
        if self.follow is not None:
            self.follow(index)
        if beat.step == 0 and self.card is not None:
            return with_footer(self.card(console), footer, console), True
        slide = _slide(self.run, self.steps, beat, self.backend, notes=self.notes, footer=footer)
        return slide_frame(slide, console, look)


def present_interactive(
    run: LessonRun,
    console: Console,
    read_key: ReadKey,
    look: Look,
    backend: str,
    *,
    notes: bool = False,
    pauses: bool = True,
    seen: set[int] | None = None,
    card: Callable[[Console], Renderable] | None = None,
    notes_file: NotesFile | None = None,
    follow: Callable[[int], None] | None = None,
) -> int:
    """Present in a terminal, one screen per beat; returns the last step shown."""
    deck = Deck(run, backend, notes, pauses, card, notes_file, follow)
    clicker = Clicker(len(deck.plan))
    while True:
        beat = deck.plan[clicker.position]
        frame, shown = deck.frame(clicker.position, console, look, _footer(clicker, look))
        console.clear()
        console.print(frame)
        if clicker.help:
            console.print(HELP_PLAIN if look.plain else HELP, markup=False)
        if seen is not None and beat.reveal and shown and beat.step:
            seen.add(beat.step)
        key = read_key()
        if key in (RESIZE, TIMEOUT):
            continue
        if not clicker.handle(key):
            return beat.step


def present_auto(
    run: LessonRun,
    console: Console,
    read_key: ReadKey,
    look: Look,
    backend: str,
    *,
    delay: float,
    notes: bool = False,
    pauses: bool = True,
    seen: set[int] | None = None,
    card: Callable[[Console], Renderable] | None = None,
    notes_file: NotesFile | None = None,
    clock: Callable[[], float] = time.monotonic,
    follow: Callable[[int], None] | None = None,
) -> int:
    """Hands-free: a screen every `delay` seconds; space pauses, arrows step, q quits."""
    deck = Deck(run, backend, notes, pauses, card, notes_file, follow)
    position, paused, due = 0, False, clock() + delay
    last = len(deck.plan) - 1
    while True:
        sep = " | " if look.plain else " · "
        arrows = "Left/Right" if look.plain else "←/→"
        state = "Paused" if paused else f"Auto, a screen every {delay:g} s"
        if position >= last:
            state = "End of the lesson"
        footer = sep.join(
            [state, "space " + ("resume" if paused else "pause"), f"{arrows} step", "q quit"]
        )
        beat = deck.plan[position]
        frame, shown = deck.frame(position, console, look, footer)
        console.clear()
        console.print(frame)
        if seen is not None and beat.reveal and shown and beat.step:
            seen.add(beat.step)
        key = read_key(None if paused or position >= last else max(0.0, due - clock()))
        if key == RESIZE:
            continue
        if key == TIMEOUT:
            if not paused and position < last:
                position += 1
                due = clock() + delay
            continue
        if key in QUIT_KEYS:
            return beat.step
        if key == " ":
            paused = not paused
        elif key in NEXT_KEYS:
            position = min(position + 1, last)
        elif key in BACK_KEYS:
            position = max(position - 1, 0)
        due = clock() + delay


def present_through(
    run: LessonRun,
    console: Console,
    look: Look,
    backend: str,
    *,
    notes: bool = False,
    pauses: bool = True,
    seen: set[int] | None = None,
    card: Callable[[Console], Renderable] | None = None,
    notes_file: NotesFile | None = None,
) -> int:
    """Every beat in turn, printed one after another (piped)."""
    if card is not None:
        console.print(card(console))
    plan = beats(run.lesson, pauses=pauses)
    steps = Steps(run)
    for index, beat in enumerate(plan):
        if notes_file is not None:
            notes_file.beat(beat)
        slide = _slide(run, steps, beat, backend, notes=notes, footer="")
        if index or card is not None:
            console.print(rule(look))
        console.print(slide_screen(slide, look))
        if seen is not None and beat.reveal:
            seen.add(beat.step)
    return len(run.lesson.steps)
