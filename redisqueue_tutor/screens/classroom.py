"""The class's screens: the teacher's dashboard, and a poll on a student's terminal.

They read a Room (classroom/room.py) and never talk to Redis. The dashboard fits the terminal it
is drawn in: the header and the poll first, then as many students as the height leaves, a page at
a time; piped (or `--once`) it is one frame with every student.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.classroom.exercise import RoomSummary
from redisqueue_tutor.classroom.room import IDLE_SECONDS, Poll, Room, Student
from redisqueue_tutor.lessons.questions import LETTERS
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.exercise import exercise_panel
from redisqueue_tutor.screens.frame import sep
from redisqueue_tutor.wording import printable

MIN_SIZE = (60, 14)  # columns, lines: below this the dashboard says how big it needs to be
BAR = 20  # characters of the longest bar of a poll's histogram
MIN_ROWS = 5  # students a page shows at least, or the poll is drawn on fewer lines


@dataclass(frozen=True)
class DashboardView:
    room: Room
    join: str  # the command a student types to join
    now: float
    page: int = 0
    problem: str = ""  # the server cannot be reached: since when, and that it keeps trying
    footer: str = ""
    summary: RoomSummary | None = None  # the room exercise, when one is on
    mistakes: bool = False  # the teacher asked to see the leading misconception before the answer


def _ago(seconds: float) -> str:
    if seconds < 60:
        return f"{max(0, int(seconds))} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def _where(student: Student) -> str:
    if not student.lesson:
        return "-"
    return f"{student.lesson} {student.step}/{student.total}"


def _quiz(student: Student) -> str:
    if not student.scores:
        return "-"
    lesson, (score, total) = next(reversed(student.scores.items()))
    return f"{score}/{total} {lesson}"


def students_table(students: list[Student], now: float, look: Look) -> Table:
    table = Table(
        box=box.ASCII2 if look.plain else box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        expand=False,
    )
    table.add_column("Student", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Lesson, step", no_wrap=True, overflow="ellipsis")
    table.add_column("Quiz", no_wrap=True, overflow="ellipsis")
    table.add_column("Right", justify="right", no_wrap=True)
    table.add_column("Seen", no_wrap=True)
    for student in students:
        silent = now - student.last
        seen = "left" if student.left else _ago(silent)
        style = "dim" if student.left or silent > IDLE_SECONDS else ""
        answered = len(student.answers)
        table.add_row(
            Text(printable(student.name)),
            Text(_where(student)),
            Text(_quiz(student)),
            Text(f"{student.right}/{answered}" if answered else "-"),
            Text(seen),
            style=style,
        )
    return table


def poll_panel(
    poll: Poll, room: Room, look: Look, *, compact: bool = False, mistakes: bool = False
) -> RenderableType:
    """The question put to the room: how many answered, the histogram, and once the answer is
    shown the leading mistake (before, a projected dashboard would give the answer away).
    `compact`: the histogram on one line, for a short terminal."""
    counts = poll.histogram()
    present = sum(1 for s in room.students.values() if not s.left)
    lines = [
        Text.assemble(
            ("Poll ", "bold"),
            (f"{poll.lesson}/{poll.question}", "cyan"),
            f"  {len(poll.votes)} of {present} answered",
            ("  answer shown" if poll.revealed else "", "green"),
        ),
        Text(printable(poll.prompt), overflow="ellipsis", no_wrap=True),
    ]
    if compact:
        lines[1] = Text(
            sep(look).join(f"{LETTERS[i]} {count}" for i, count in enumerate(counts)),
            no_wrap=True,
            overflow="ellipsis",
        )
        return Group(*lines)
    top = max(counts, default=0) or 1
    block = "#" if look.plain else "█"
    for index, (option, count) in enumerate(zip(poll.options, counts, strict=True)):
        right = poll.revealed and index == poll.answer
        bar = block * round(BAR * count / top) if count else ""
        lines.append(
            Text.assemble(
                (f"{LETTERS[index]} ", "bold green" if right else "bold"),
                (f"{bar:<{BAR}} ", "green" if right else "cyan"),
                f"{count:>3}  ",
                (printable(option), "green" if right else ""),
                overflow="ellipsis",
                no_wrap=True,
            )
        )
    mistake, many = poll.leading_misconception() if poll.revealed or mistakes else ("", 0)
    if mistake:
        lines.append(
            Text.assemble(
                ("Most of the wrong answers: ", "yellow"),
                f"{printable(mistake)} ({many})",
                overflow="ellipsis",
                no_wrap=True,
            )
        )
    return Group(*lines)


def header(
    view: DashboardView, look: Look, *, compact: bool = False, width: int = 80
) -> list[RenderableType]:
    room = view.room
    present = [s for s in room.students.values() if not s.left]
    parts: list[RenderableType] = [
        Text.assemble(
            (f"Class {room.code}", "bold"),
            sep(look),
            f"{len(present)} student{'s' if len(present) != 1 else ''}",
            sep(look),
            f"{room.counted} events",
            (
                f"{sep(look)}{room.duplicates} sent twice, counted once" if room.duplicates else "",
                "dim",
            ),
        ),
        Text.assemble(("Join: ", "dim"), view.join),
    ]
    if view.problem:
        parts.append(Text(view.problem, style="bold yellow"))
    poll = room.poll()
    if room.latest == "exercise" and room.exercise is not None:
        summary = view.summary or RoomSummary()
        parts.append(exercise_panel(room.exercise, summary, width, look, compact=compact))
    elif poll is not None:
        parts.append(poll_panel(poll, room, look, compact=compact, mistakes=view.mistakes))
    return parts


def dashboard_once(view: DashboardView, look: Look) -> RenderableType:
    """Every student, for a pipe, `--once` or `status`."""
    parts = header(view, look)
    roster = view.room.roster()
    parts.append(
        students_table(roster, view.now, look) if roster else Text("Nobody has joined yet.")
    )
    return Group(*parts)


def dashboard_screen(
    view: DashboardView, console: Console, look: Look
) -> tuple[RenderableType, int]:
    """The dashboard for a terminal of the console's size, and how many pages the roster takes."""
    width, height = console.size
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        times = "x" if look.plain else "×"
        return (
            Text(
                f"Make the terminal at least {MIN_SIZE[0]}{times}{MIN_SIZE[1]} (it is "
                f"{width}{times}{height}); q quits.",
                style="bold yellow",
            ),
            1,
        )
    roster = view.room.roster()
    footer_lines = 1
    empty = students_table([], view.now, look)  # its heading and rules: what each page costs
    chrome = len(console.render_lines(empty, console.options, pad=False)) + 1  # + the page line
    for compact in (False, True):  # the poll's histogram on one line when the height is short
        top = Group(*header(view, look, compact=compact, width=width))
        used = len(console.render_lines(top, console.options, pad=False))
        per_page = height - used - footer_lines - chrome
        if per_page >= min(len(roster), MIN_ROWS):
            break
    per_page = max(1, per_page)
    pages = max(1, -(-len(roster) // per_page))
    page = min(max(view.page, 0), pages - 1)
    shown = roster[page * per_page : (page + 1) * per_page]
    body: list[RenderableType] = [top]
    if roster:
        body.append(students_table(shown, view.now, look))
        body.append(
            Text(
                f"students {page * per_page + 1}-{page * per_page + len(shown)} of {len(roster)}"
                + (f"{sep(look)}page {page + 1} of {pages}" if pages > 1 else ""),
                style="dim",
            )
        )
    else:
        body.append(Text("Nobody has joined yet.", style="dim"))
    body.append(Text(view.footer, style="dim", overflow="ellipsis", no_wrap=True))
    return Group(*body), pages


# --------------------------------------------------------------------------------------------------
# A student's terminal


@dataclass(frozen=True)
class PollCard:
    poll: Poll
    chosen: int | None = None
    answer: int | None = None  # once revealed
    explanation: str = ""


def poll_card(
    card: PollCard, look: Look, note: str = "", *, changeable: bool = True
) -> RenderableType:
    poll = card.poll
    lines: list[RenderableType] = [
        Text.assemble(("The teacher asks", "bold"), ("  " + poll.lesson, "dim")),
        Text(printable(poll.prompt)),
        Text(""),
    ]
    for index, option in enumerate(poll.options):
        marker = "> " if card.chosen == index else "  "
        style = ""
        if card.answer is not None:
            style = (
                "bold green" if index == card.answer else ("red" if index == card.chosen else "dim")
            )
        lines.append(
            Text.assemble(marker, (f"{LETTERS[index]}  ", "bold"), (printable(option), style))
        )
    lines.append(Text(""))
    if card.answer is not None:
        right = card.chosen == card.answer
        verdict = (
            ("Right.", "bold green")
            if right
            else (f"The answer is {LETTERS[card.answer]}.", "bold yellow")
        )
        lines.append(Text.assemble(verdict, " ", printable(card.explanation)))
    elif card.chosen is not None:
        change = " (another letter changes it)" if changeable else ""
        lines.append(
            Text(
                f"You answered {LETTERS[card.chosen]}{change}; the teacher shows the answer"
                " to the room.",
                style="dim",
            )
        )
    else:
        letters = f"{LETTERS[0]}-{LETTERS[len(poll.options) - 1]}"
        lines.append(Text(f"Answer with a letter, {letters}.", style="dim"))
    if note:
        lines.append(Text(note, style="bold yellow"))
    return Group(*lines)


def waiting_card(code: str, name: str, note: str, look: Look) -> RenderableType:
    return Group(
        Text.assemble(
            ("Class ", "bold"), (code, "bold cyan"), f"{sep(look)}you are {printable(name)}"
        ),
        Text(
            "Waiting for the teacher's question. Your `tutor step`, `quiz` and `--predict`, in "
            "another terminal, report to the class.",
        ),
        Text(note, style="dim"),
    )


@contextmanager
def live_screen(console: Console) -> Iterator[Callable[[RenderableType], None]]:
    """A screen redrawn in place (the terminal's alternate screen, no flicker on a projector);
    yields the function that shows a new frame. The terminal is given back as it was."""
    from rich.live import Live

    with Live(
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        yield lambda frame: live.update(frame, refresh=True)


@dataclass(frozen=True)
class PickerView:
    lesson_id: str
    title: str
    questions: list[tuple[str, str]]  # id, prompt
    chosen: int


def picker_panel(view: PickerView, rows: int, look: Look) -> RenderableType:
    """`p` on the dashboard: the lesson's questions, one chosen; `rows` lines at most for them."""
    arrows = ("<-", "->") if look.plain else ("←", "→")
    questions, chosen = view.questions, view.chosen
    lines: list[RenderableType] = [
        Text.assemble(
            ("Put a question to the class", "bold"),
            f"   {arrows[0]} ",
            (view.lesson_id, "bold cyan"),
            f" {arrows[1]}  ",
            (printable(view.title), "dim"),
            no_wrap=True,
            overflow="ellipsis",
        )
    ]
    if not questions:
        lines.append(Text("This lesson has no quiz questions.", style="dim"))
    start = max(0, min(chosen - rows // 2, len(questions) - rows))
    for index in range(start, min(start + max(rows, 1), len(questions))):
        question_id, prompt = questions[index]
        mark = "> " if index == chosen else "  "
        lines.append(
            Text.assemble(
                (mark, "bold"),
                (question_id, "bold" if index == chosen else "cyan"),
                "  ",
                printable(prompt),
                style="reverse" if index == chosen and not look.plain else "",
                no_wrap=True,
                overflow="ellipsis",
            )
        )
    updown = "Up/Down" if look.plain else "↑/↓"
    leftright = "Left/Right" if look.plain else "←/→"
    keys = sep(look).join([f"{updown} question", f"{leftright} lesson", "Enter ask", "Esc cancel"])
    lines.append(Text(keys, style="dim"))
    return Group(*lines)
