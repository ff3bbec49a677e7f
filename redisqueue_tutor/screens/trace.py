"""The screens of `tutor trace`: the run's step screen (drawn by render.py as for a lesson), then
what each listener received, the keys at the end, the program's own output and how it ended.

Everything is drawn through render.py's Look, so --plain and NO_COLOR hold.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.run.records import fold, fold_lines, fold_text, python_text
from redisqueue_tutor.run.runfile import Run
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.step import StepView, step_screen
from redisqueue_tutor.wording import printable

SHOWN_STEPS = 100  # a longer run shows its last steps and a summary; --output keeps them all
SHOWN_KEYS = 50


def run_screen(run: Run, look: Look) -> RenderableType:
    """Every step of the run at once, as the last step of a lesson shows it; a long run its last
    SHOWN_STEPS steps, after a summary of all of them."""
    if not run.steps:
        return Text(
            f"{run.title}\nThe program sent no Redis command. {run.outcome.sentence}", style="bold"
        )
    if len(run.steps) <= SHOWN_STEPS:
        return step_screen(StepView(run, run.start, run.steps, len(run.steps), run.backend), look)
    shown = run.steps[-SHOWN_STEPS:]
    view = StepView(run, run.start, shown, len(run.steps), run.backend)
    return Group(step_screen(view, look), summary(run, look))


def summary(run: Run, look: Look) -> Text:
    """What a long run did, in one paragraph: how many commands of each kind, and what is not
    shown."""
    counts = Counter(c.name for r in run.steps for c in r.commands if c.args)
    total = sum(counts.values())
    kinds = ", ".join(f"{name} {n:,}" for name, n in counts.most_common(6))
    if len(counts) > 6:
        kinds += f", {len(counts) - 6} other kinds"
    hidden = len(run.steps) - SHOWN_STEPS
    return Text(
        f"{total:,} commands in {len(run.steps):,} steps ({kinds}). The first {hidden:,} steps"
        " are not shown: `--output FILE` keeps every one, `tutor step --from FILE` walks them.",
        style="" if look.plain else "dim",
    )


def listeners_table(run: Run, look: Look) -> Table | None:
    heard = run.received()
    if not heard:
        return None
    table = Table(title="What each listener received", title_justify="left", box=look.box)
    table.add_column("Listener", no_wrap=True)
    table.add_column("Channel", overflow="fold")
    table.add_column("Message", overflow="fold")
    for lane, messages in heard.items():
        for command in messages:
            reply = command.reply
            channel, data = _text(reply[-2]), reply[-1]
            table.add_row(Text(lane), Text(fold_text(channel)), Text(python_text(fold(data))))
    return table


def _text(value: object) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def keys_table(run: Run, look: Look) -> Table | None:
    if not run.keys:
        return None
    table = Table(title="Keys at the end", title_justify="left", box=look.box)
    table.add_column("Key", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Value", overflow="fold")
    keys = run.keys
    if len(keys) > SHOWN_KEYS:
        table.caption = f"{len(keys) - SHOWN_KEYS:,} more keys (`--output FILE` keeps them all)"
        keys = keys[:SHOWN_KEYS]
    for key in keys:
        if key.type == "none":
            table.add_row(
                Text(printable(key.key)), "-", Text("(gone: removed or emptied)", style="dim")
            )
        else:
            table.add_row(Text(printable(key.key)), key.type, Text(python_text(fold(key.value))))
    return table


def output_panel(run: Run, look: Look) -> Panel | None:
    """The program's own output, apart from the table: stdout, then stderr, every line of it;
    a line too long for a screen is folded to its beginning and its size (--output keeps it)."""
    parts: list[RenderableType] = []
    if run.stdout:
        parts.append(Text(fold_lines(run.stdout.rstrip("\n"))))
    if run.stderr:
        parts.append(Text(fold_lines(run.stderr.rstrip("\n")), style="red"))
    if not parts:
        return None
    return Panel(Group(*parts), title="The program's output", title_align="left", box=look.box)


def outcome_line(run: Run, look: Look) -> Text:
    style = {"finished": "green", "timeout": "yellow"}.get(run.outcome.status, "red")
    mark = "" if look.plain else {"finished": "✔ ", "timeout": "⏱ "}.get(run.outcome.status, "✘ ")
    return Text(mark + run.outcome.sentence, style=style)


def run_extras(run: Run, look: Look) -> list[RenderableType]:
    """What follows the table: listeners, keys and output (the outcome is the table's end note)."""
    parts: list[RenderableType | None] = [
        listeners_table(run, look),
        keys_table(run, look),
        output_panel(run, look),
    ]
    return [p for p in parts if p is not None]
