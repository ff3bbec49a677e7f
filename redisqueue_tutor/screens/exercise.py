"""The room is the queue, drawn: the tasks and who got them, on the dashboard and on each
student's class screen. Reads what classroom/exercise.py worked out; never talks to Redis."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from redisqueue_tutor.classroom.exercise import (
    RoomSummary,
    TaskRow,
    WorkerState,
    tasks_key,
    working_key,
)
from redisqueue_tutor.classroom.keys import ClassKeys
from redisqueue_tutor.classroom.room import Exercise, task_label
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.frame import sep
from redisqueue_tutor.wording import printable

COMMAND = {"rpop": "BRPOP", "lmove": "BLMOVE", "pubsub": "PUBLISH / SUBSCRIBE"}
POINT = {
    "rpop": "each task to one student; a dropped one is lost",
    "lmove": "each task to one student; a dropped one waits",
    "pubsub": "every student hears every message",
}
CELL = 16  # characters of one task in the grid


def _mark(state: str, look: Look) -> tuple[str, str]:
    plain = {
        "done": ("ok", "green"),
        "working": ("...", "cyan"),
        "queued": ("-", "dim"),
        "lost": ("LOST", "bold red"),
        "waiting": ("waits", "yellow"),
        "twice": ("TWICE", "bold red"),
    }
    fancy = {"done": ("✔", "green"), "working": ("…", "cyan"), "queued": ("·", "dim")}
    return (fancy.get(state) if not look.plain else None) or plain.get(state, (state, ""))


def title(exercise: Exercise) -> Text:
    return Text.assemble(
        ("The room is the queue (", "bold"),
        (COMMAND[exercise.mode], "bold cyan"),
        ("): ", "bold"),
        POINT[exercise.mode],
        overflow="ellipsis",
        no_wrap=True,
    )


def task_grid(rows: Sequence[TaskRow], width: int, look: Look) -> list[Text]:
    """The tasks a row of the screen at a time: number, student, and a mark for its state."""
    per_line = max(1, width // CELL)
    lines = []
    for start in range(0, len(rows), per_line):
        line = Text(no_wrap=True, overflow="ellipsis")
        for row in rows[start : start + per_line]:
            mark, style = _mark(row.state, look)
            who = printable(row.who)[: CELL - 9] if row.who else ""
            cell = Text.assemble(row.task.removeprefix("task-"), " ", (who, ""), " ", (mark, style))
            cell.truncate(CELL - 1, pad=True)
            line.append_text(cell)
            line.append(" ")
        lines.append(line)
    return lines


def counts_line(rows: Sequence[TaskRow], look: Look) -> RenderableType:
    count = {s: sum(r.state == s for r in rows) for s in ("done", "working", "queued")}
    lost = [r for r in rows if r.state == "lost"]
    waiting = [r for r in rows if r.state == "waiting"]
    twice = [r for r in rows if r.state == "twice"]
    parts = [f"{len(rows)} tasks", f"{count['done']} done", f"{count['working']} in hand"]
    parts.append(f"{count['queued']} on the queue")
    text = Text(sep(look).join(parts), no_wrap=True, overflow="ellipsis")
    text.append(
        sep(look) + ("no task went to two students" if not twice else f"{len(twice)} TAKEN TWICE"),
        style="green" if not twice else "bold red",
    )
    lines: list[RenderableType] = [text]
    # One line each, however many: students stopped with these tasks in hand.
    if lost:
        lines.append(_tasks_line(lost, "in no list, lost: ", "", "red"))
    if waiting:
        lines.append(_tasks_line(waiting, "waiting in a working list: ", " (v recovers)", "yellow"))
    return Group(*lines)


def _tasks_line(rows: Sequence[TaskRow], head: str, tail: str, style: str) -> Text:
    listed = ", ".join(f"{r.task} ({printable(r.who)})" for r in rows)
    return Text(f"{len(rows)} {head}{listed}{tail}", style=style, no_wrap=True, overflow="ellipsis")


def heard_line(exercise: Exercise, heard: dict[str, int], look: Look) -> Text:
    if not heard:
        return Text("Nobody has heard a message yet.", style="dim")
    most = max(heard.values())
    fewer = sorted(name for name, n in heard.items() if n < most)
    text = Text(f"{len(heard)} students heard {most} of {exercise.tasks} messages each")
    if fewer:
        text.append(
            f"{sep(look)}fewer: {', '.join(printable(n) for n in fewer[:8])}", style="yellow"
        )
    else:
        text.append(f"{sep(look)}every student heard every message", style="green")
    return text


def exercise_panel(
    exercise: Exercise,
    summary: RoomSummary,
    width: int,
    look: Look,
    *,
    compact: bool = False,
    titled: bool = True,
) -> RenderableType:
    """The exercise on the dashboard (and the room's part of a student's screen)."""
    parts: list[RenderableType] = [title(exercise)] if titled else []
    if exercise.mode == "pubsub":
        parts.append(heard_line(exercise, summary.heard, look))
        return Group(*parts)
    parts.append(counts_line(summary.rows, look))
    if not compact:
        parts.extend(task_grid(summary.rows, width, look))
    return Group(*parts)


def worker_card(
    state: WorkerState,
    keys: ClassKeys,
    member: str,
    summary: RoomSummary,
    *,
    width: int,
    look: Look,
    compact: bool = False,
) -> RenderableType:
    """A student's screen during the exercise: their own tasks, then the room's (without the
    grid of tasks when `compact`, for a short terminal)."""
    exercise = state.exercise
    mine = Text()
    if exercise.mode == "pubsub":
        mine.append(f"You heard {len(state.heard)} of {exercise.tasks} messages.")
    elif state.gone and state.working:
        where = (
            f"it waits in your working list {working_key(keys, member).removeprefix(keys.prefix)}"
            " until the teacher recovers it"
            if exercise.mode == "lmove"
            else "BRPOP took it off the queue and nobody else can get it: it is lost"
        )
        mine.append(
            f"You closed your laptop with {task_label(state.working)} in hand: {where}.",
            "bold yellow",
        )
    elif state.gone:
        mine.append("You closed your laptop: you take no more tasks.", style="yellow")
    elif state.working:
        mine.append(f"You are working on {task_label(state.working)}.", style="cyan")
    else:
        mine.append(
            f"Waiting for a task ({COMMAND[exercise.mode]} on {tasks_key(keys).removeprefix(keys.prefix)}).",
            "dim",
        )
    if state.done:
        last = ", ".join(task_label(t) for t in state.done[-6:])
        more = "..., " if len(state.done) > 6 else ""
        mine.append(f" Done: {len(state.done)} ({more}{last}).", style="green")
    parts: list[RenderableType] = [title(exercise), mine]
    if state.problem:
        parts.append(Text(state.problem, style="bold yellow"))
    if summary.rows or summary.heard:
        parts.append(Text("The room, as the teacher's dashboard sees it:", style="bold"))
        parts.append(exercise_panel(exercise, summary, width, look, titled=False, compact=compact))
    keys_line = "x closes your laptop now, mid-task" if not state.gone else ""
    parts.append(
        Text(sep(look).join(p for p in (keys_line, "q leaves this screen") if p), style="dim")
    )
    return Group(*parts)
