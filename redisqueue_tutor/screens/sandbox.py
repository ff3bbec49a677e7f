"""The sandbox's screens: the execution table of the learner's commands, the live view, help.

The table is render.execution_table itself, drawn from the session's records, so a learner's own
commands read exactly like a lesson's steps (wide, or compact below 90 columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.keyspace.catalogue import COMMANDS, MAX_BLOCK
from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.table import Screenplay, execution_table, is_compact
from redisqueue_tutor.wording import counted

ROWS_SHOWN = 12  # the last rows of the table; `history` lists every command


@dataclass(frozen=True)
class Live:
    """One key or channel the learner touched, as it is now: for the live view."""

    name: str
    kind: str  # list, string, hash, set, zset, none, channel, pattern
    value: str


class Session(Protocol):
    """What the screen reads of a sandbox session (modes/sandbox.py)."""

    @property
    def records(self) -> Sequence[StepRecord]: ...

    @property
    def lesson(self) -> Screenplay: ...

    def live(self) -> Sequence[Live]: ...


class SandboxScreen:
    """The session so far. With `fit`, the table keeps as many of the latest rows as let the
    screen, the prompt and a message line fit the terminal (the live view goes last)."""

    def __init__(self, session: Session, look: Look, where: str, fit: bool = False) -> None:
        self.session, self.look, self.where, self.fit = session, look, where, fit

    def _parts(self, rows: int, live: bool, width: int) -> list[RenderableType]:
        session, look = self.session, self.look
        records = session.records[-rows:] if rows else []
        dot = "-" if look.plain else "·"
        parts: list[RenderableType] = [
            Text.assemble(
                ("Sandbox", "bold"),
                (f"  {dot}  {counted(len(session.records), 'command')}", "bold cyan"),
                (f"  {dot}  {self.where}", "dim"),
                no_wrap=True,
                overflow="ellipsis",
            )
        ]
        if records:
            hidden = len(session.records) - len(records)
            title = "Execution table"
            if hidden:
                title += f" (steps 1-{hidden} above: `history` lists them)"
            parts.append(
                execution_table(
                    session.lesson,
                    records,
                    current=records[-1].number,
                    look=look,
                    compact=is_compact(width),
                    width=width,
                    title=title,
                )
            )
        rows_live = session.live() if live else []
        if rows_live:
            parts.append(live_view(rows_live, look))
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        most = min(ROWS_SHOWN, len(self.session.records))
        if not self.fit:
            yield from self._parts(most, True, width)
            return
        room = console.size.height - 2  # the prompt, and a line for a message
        for live in (True, False):
            for rows in range(most, 0, -1):
                parts = self._parts(rows, live, width)
                if len(console.render_lines(Group(*parts), options, pad=False)) <= room:
                    yield from parts
                    return
        yield from self._parts(1, False, width)


def welcome(where: str) -> Text:
    return Text.assemble(
        ("Sandbox", "bold"),
        (f" on {where}\n", "dim"),
        "Type Redis commands (LPUSH queue a, RPOP queue, SUBSCRIBE chat, PUBLISH chat hi),"
        " help, undo or quit.",
    )


def sandbox_screen(session: Session, look: Look, where: str, fit: bool = False) -> RenderableType:
    return SandboxScreen(session, look, where, fit)


def live_view(rows: Sequence[Live], look: Look) -> Table:
    table = Table(title="Live view", title_justify="left", box=look.box)
    table.add_column("Name", style="bold cyan", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Now", overflow="fold")
    for row in rows:
        table.add_row(
            Text(row.name), row.kind, Text(row.value, style="dim" if row.kind == "none" else "")
        )
    return table


def help_text(look: Look, command: str | None = None) -> RenderableType:
    if command:
        spec = COMMANDS[command.upper()]
        return Text.assemble(
            (spec.syntax, "bold"), "\n  ", spec.summary[0].upper() + spec.summary[1:] + "."
        )
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for group in ("lists", "streams", "pub/sub", "keys", "server"):
        names = [s.name for s in COMMANDS.values() if s.group == group]
        table.add_row(group, " ".join(names))
    table.add_row("", "")
    table.add_row("help CMD", "syntax and meaning of one command")
    table.add_row("undo", "replay everything but the last command, on a fresh namespace")
    table.add_row("history", "every command so far")
    table.add_row("quit", "leave (or Ctrl-D); the sandbox's keys are removed")
    tab = "" if look.plain else " Tab completes a command name; ↑ recalls the last ones."
    intro = Text.assemble(
        "Type Redis commands, e.g. LPUSH queue a, RPOP queue, SUBSCRIBE chat, PUBLISH chat hi,"
        " XADD events * task a.\n",
        (
            f"Blocking commands wait at most {MAX_BLOCK:g} s; Ctrl-C stops the wait. Keys and"
            f" channels stay in this sandbox's namespace.{tab}",
            "dim",
        ),
    )
    return Group(intro, table)


def history_text(lines: Sequence[str]) -> Text:
    if not lines:
        return Text("No commands yet.", style="dim")
    width = len(str(len(lines)))
    return Text("\n".join(f"{n:>{width}}  {line}" for n, line in enumerate(lines, start=1)))
