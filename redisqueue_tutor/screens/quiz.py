"""The quiz's screens, drawn with Rich: question panels, feedback, the summary, the progress table.

Also the two ways a learner answers (keys in a terminal, one line each when piped) and the loop that
takes a quiz with them. Grading and choosing questions are quiz.py's; this module only shows and
asks. Everything is drawn through render.py's Look and console, so --plain and NO_COLOR hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS
from redisqueue_tutor.lessons.quiz import (
    Outcome,
    QuizItem,
    Summary,
)
from redisqueue_tutor.run.records import StepRecord, state_text
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.table import execution_table, is_compact

RIGHT_STYLE = "bold green"
WRONG_STYLE = "bold red"


# --------------------------------------------------------------------------------------------------
# Question panel


class RunSoFar:
    """The execution table of the real run up to (not including) a step, wide or compact.

    `skip` leaves out the first rows when the terminal is short (a note says so)."""

    def __init__(
        self,
        lesson: Lesson,
        start: StepRecord,
        records: Sequence[StepRecord],
        look: Look,
        skip: int = 0,
    ) -> None:
        self.lesson, self.start, self.records, self.look = lesson, start, records, look
        self.skip = skip

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.records:
            yield Text(f"Nothing has run yet. At the start: {state_text(self.start.state)}", "dim")
            return
        title = "Execution table"
        if self.skip:
            hidden = self.records[self.skip - 1].number
            title += " (step 1 is above)" if hidden == 1 else f" (steps 1-{hidden} are above)"
        yield execution_table(
            self.lesson,
            self.records[self.skip :],
            look=self.look,
            compact=is_compact(options.max_width),
            width=options.max_width,
            title=title,
        )


@dataclass(frozen=True)
class QuestionView:
    """What one question screen shows. `cursor` is the highlighted option in a terminal."""

    item: QuizItem
    number: int
    total: int
    lesson: Lesson
    start: StepRecord
    records: tuple[
        StepRecord, ...
    ]  # the whole run; the panel shows the steps before the question's
    cursor: int | None = None
    hint: bool = False
    message: str = ""
    keys: str = ""
    show_table: bool = True
    title: str = ""  # instead of "Question N of M"
    table_skip: int = 0  # rows of the table left out on a short terminal


def question_panel(view: QuestionView, look: Look) -> RenderableType:
    question = view.item.question
    dot = "-" if look.plain else "·"
    parts: list[RenderableType] = []
    if view.show_table and question.step is not None:
        shown = view.records[: question.step - 1]
        parts.append(RunSoFar(view.lesson, view.start, shown, look, view.table_skip))
    parts.append(Text(question.prompt, style="bold"))
    marker = look.marker
    for position, option in enumerate(view.item.options):
        chosen = position == view.cursor
        line = Text(f"{marker if chosen else ' '} {LETTERS[position]}) ", style="bold")
        line.append(option.text, style="reverse" if chosen and not look.plain else "")
        parts.append(line)
    if view.hint:
        parts.append(Text.assemble(("Hint: ", "bold yellow"), question.hint))
    if view.message:
        parts.append(Text(view.message, style="yellow"))
    if view.keys:
        parts.append(Text(view.keys, style="dim"))
    title = view.title or f"Question {view.number} of {view.total} {dot} {question.level}"
    return Panel(Group(*parts), title=title, title_align="left", box=look.box)


def fitted_question(
    view: QuestionView, look: Look, console: Console, below: RenderableType | None = None
) -> RenderableType:
    """The question (and what is drawn below it) fitted to the terminal: the run's table loses
    its older rows, then goes; the question and its options always stay."""
    height = console.size.height

    def frame(candidate: QuestionView) -> RenderableType:
        panel = question_panel(candidate, look)
        return panel if below is None else Group(panel, below)

    def fits(candidate: QuestionView) -> bool:
        return len(console.render_lines(frame(candidate), console.options, pad=False)) < height

    if fits(view):
        return frame(view)
    step = view.item.question.step
    rows = (step - 1) if step else 0
    for skip in range(1, rows):
        candidate = replace(view, table_skip=skip)
        if fits(candidate):
            return frame(candidate)
    return frame(replace(view, show_table=False))


def feedback(item: QuizItem, outcome: Outcome, look: Look) -> RenderableType:
    """Right or not; for a wrong option the misconception it reveals; then the worked solution."""
    question = item.question
    right_mark, wrong_mark = (
        ("Right.", "Not quite.") if look.plain else ("✔ Right.", "✘ Not quite.")
    )
    key = f"{item.answer_letter}) {question.key.text}"
    if outcome.correct:
        head = Text.assemble((right_mark, RIGHT_STYLE), f" The answer is {key}")
    else:
        head = Text.assemble(
            (wrong_mark, WRONG_STYLE),
            f" You chose {LETTERS[outcome.position]}; the answer is {key}",
        )
        if outcome.misconception:
            head.append("\nThat choice suggests: ", style="bold")
            head.append(outcome.misconception)
    steps = Table.grid(padding=(0, 1))
    steps.add_column(justify="right", no_wrap=True)
    steps.add_column()
    for number, step in enumerate(question.solution, start=1):
        steps.add_row(f"{number}.", Text(step))
    return Group(head, Text("Why:", style="bold"), Padding(steps, (0, 0, 1, 2)))


def summary_panel(
    summary: Summary, look: Look, lesson_id: str, seed: int | None, again: str = ""
) -> RenderableType:
    """The score, the misconceptions met, what to review; `again` is the options that, with the
    seed, repeat this quiz (--no-shuffle, --count 5)."""
    minutes, seconds = divmod(round(summary.seconds), 60)
    parts: list[RenderableType] = [
        Text.assemble(
            ("Score ", "bold"),
            (f"{summary.score}/{summary.answered}", "bold cyan"),
            (
                f"  (stopped after {summary.answered} of {summary.planned})"
                if not summary.complete
                else "",
                "dim",
            ),
            ("\nTime  ", "bold"),
            f"{minutes} min {seconds:02d} s",
        )
    ]
    if summary.misconceptions:
        parts.append(Text("Misconceptions met", style="bold cyan"))
        parts.append(Text("\n".join(f"{look.bullet()} {m}" for m in summary.misconceptions)))
    if summary.review:
        parts.append(Text("What to review", style="bold cyan"))
        parts.append(Text("\n".join(f"{look.bullet()} {r}" for r in summary.review)))
        parts.append(Text(f"Then: tutor quiz {lesson_id} --review", style="dim"))
    elif summary.answered:
        parts.append(Text("Nothing missed.", style="green"))
    if seed is not None:
        command = f"tutor quiz {lesson_id} --seed {seed}{again}"
        parts.append(Text(f"The same quiz again: {command}", "dim"))
    return Panel(Group(*parts), title="Summary", title_align="left", box=look.box)


# --------------------------------------------------------------------------------------------------
# Progress table


@dataclass(frozen=True)
class ProgressRow:
    lesson_id: str
    steps_seen: int
    total_steps: int | None  # None: the lesson file is gone
    best: str  # "8/10", or "-"
    missed: int
    done: float  # 0..1


def progress_table(rows: Sequence[ProgressRow], look: Look) -> Table:
    table = Table(title="Progress", title_justify="left", box=look.box)
    table.add_column("Lesson", style="bold cyan", no_wrap=True)
    table.add_column("Steps", justify="right", no_wrap=True)
    table.add_column("Best quiz", justify="right", no_wrap=True)
    table.add_column("Missed", justify="right")
    table.add_column("Done", no_wrap=True)
    for row in rows:
        total = "?" if row.total_steps is None else str(row.total_steps)
        table.add_row(
            row.lesson_id,
            f"{row.steps_seen}/{total}",
            row.best,
            str(row.missed),
            _bar(row.done, look),
        )
    return table


def _bar(fraction: float, look: Look, width: int = 8) -> Text:
    filled = round(fraction * width)
    full, empty = ("#", ".") if look.plain else ("█", "░")
    return Text.assemble(
        (full * filled, "green"), (empty * (width - filled), "dim"), f" {fraction:.0%}"
    )


def hint_line(view: QuestionView) -> Text:
    return Text.assemble(("Hint: ", "bold yellow"), view.item.question.hint)


def answered_frame(
    console: Console,
    look: Look,
    last: QuestionView | None,
    result: RenderableType,
    *,
    prompt: str,
    chosen: int | None,
) -> RenderableType:
    """The question just answered with its feedback and a prompt below, fitted to the terminal;
    when both do not fit, the question's prompt and the feedback (which names the answer)."""
    below = Group(result, Text(prompt, style="dim"))
    if last is None:
        return below
    answered = replace(last, keys="", message="", cursor=chosen)
    whole = fitted_question(answered, look, console, below)
    if len(console.render_lines(whole, console.options, pad=False)) < console.size.height:
        return whole
    return Group(Text(last.item.question.prompt, style="bold"), below)
