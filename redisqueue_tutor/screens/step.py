"""The step screen: a lesson's concept card and title card, each step (header, program line,
execution table, tracker, key moment) and the closing page. Drawn from records and the lesson;
nothing here talks to Redis. The tables themselves are table.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.run.records import (
    CommandRecord,
    StepRecord,
    Summary,
    fold,
    python_text,
    reply_text,
    shown_text,
)
from redisqueue_tutor.screens.console import Look
from redisqueue_tutor.screens.table import (
    CHANGED,
    Screenplay,
    execution_table,
    is_compact,
    tracker_table,
)
from redisqueue_tutor.wording import joined, noun

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.model import Lesson


def moment_panel(
    lesson: Screenplay, step: int, look: Look, *, open_: bool = True
) -> RenderableType | None:
    """The step's key moment: the question and its answer, or folded to the question alone."""
    moment = lesson.moment_for(step)
    if moment is None:
        return None
    if not open_:
        bulb = "Key moment" if look.plain else "💡 Key moment"
        return Text.assemble((f"{bulb} (k): ", "dim"), (moment.question, "bold"))
    title = "Key moment" if look.plain else "💡 Key moment"
    body = Text.assemble((moment.question, "bold"), "\n", moment.answer.strip())
    return Panel(body, title=title, title_align="left", box=look.box, expand=False)


def tracker_line(start: StepRecord, records: Sequence[StepRecord], look: Look) -> Text:
    """The tracker folded to one line: every variable and watched key, now."""
    last = records[-1] if records else start
    values = {**dict(last.state), **dict(last.variables)}
    text = Text("Now: ", style="bold")
    dot = " | " if look.plain else " · "
    for index, (name, value) in enumerate(values.items()):
        if index:
            text.append(dot, style="dim")
        changed = f"state:{name}" in last.changed or f"var:{name}" in last.changed
        text.append(f"{name} = ")
        text.append(python_text(fold(value)), style=CHANGED if changed else "")
    return text


_CODE_PARTS = re.compile(r"(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<comment>#.*$)")


def code_line(code: str, look: Look) -> RenderableType:
    """The program line of the current step, as redis-py code: strings and comments picked out
    by a small pattern (a full highlighter would cost start-up time for one line)."""
    text = Text("Code: " if look.plain else "▸ ", style="bold cyan")
    at = 0
    for match in _CODE_PARTS.finditer(code):
        text.append(code[at : match.start()], style="bold")
        text.append(match.group(), style="green" if match.group("string") else "dim")
        at = match.end()
    text.append(code[at:], style="bold")
    return text


@dataclass(frozen=True)
class StepView:
    lesson: Screenplay
    start: StepRecord
    records: tuple[StepRecord, ...]  # the steps shown, 1..current
    total: int
    backend: str
    footer: str = ""
    # The execution table starts at this index of `records` when the screen is too short for all
    # of them (the tracker still covers every step).
    table_from: int = 0
    # The tracker shows Start and the latest moments; 0 folds it to one line ("Now: ...").
    tracker_latest: int | None = None
    moment_open: bool = True  # False: the key moment is folded to its question
    # A very short terminal: no title line, no tracker, no key moment line (k still opens it).
    tight: bool = False
    # A row too tall for the terminal (a traced pipeline of big values): each cell cut to this
    # many characters, with a note (--output keeps everything).
    cell_chars: int | None = None
    next_hint: str = ""  # after the last step: what to do next
    show_code: bool = True
    # The last step carries the lesson's closing (comparison, end note, what next). Interactive
    # screens show the closing on a page of its own after the last step instead.
    closing: bool = True
    interactive: bool = True  # False: printed one step after another, the earlier rows above
    expanded: bool = False  # x: the step's quiet commands and its payloads in full
    phrases: bool = True  # False: a scenario's rows without what the framework does (short)

    @property
    def current(self) -> int:
        return self.records[-1].number if self.records else 0

    @property
    def finished(self) -> bool:
        return self.current == self.total


COMPARISON = "Comparison, from this run"  # the title of a lesson's comparison, wherever shown


def comparison_table(lesson: Lesson, records: Sequence[StepRecord], look: Look) -> Table:
    """The comparison of the lesson's transports, computed from the run's records."""
    from redisqueue_tutor.run.comparison import QUESTIONS, compare_transports

    streams = [s.key for s in lesson.state if s.type == "stream"]
    verdicts = compare_transports(lesson.compare, lesson.channels, streams, records)
    table = Table(title=COMPARISON, title_justify="left", box=look.box)
    table.add_column("")
    for verdict in verdicts:
        table.add_column(f"{verdict.transport} ({verdict.kind})", overflow="fold")
    for question in lesson.compare_on:
        table.add_row(QUESTIONS[question], *(v.answers[question] for v in verdicts))
    return table


class StepScreen:
    """One step's screen; the layout (wide or compact) comes from the width it is given."""

    def __init__(self, view: StepView, look: Look) -> None:
        self.view = view
        self.look = look

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view, look = self.view, self.look
        lesson = view.lesson
        # A scenario's rows carry what the framework does under each command: one column.
        compact = is_compact(options.max_width) or getattr(lesson, "scenario", None) is not None
        dot = "-" if look.plain else "·"
        if not view.tight:
            yield Text(lesson.title, style="bold")
        yield Text.assemble(
            (f"Step {view.current} of {view.total}", "bold cyan"),
            (f"  {dot}  {view.backend}", "dim"),
            no_wrap=True,
            overflow="ellipsis",
        )
        record = view.records[-1] if view.records else None
        for line in _code_lines(view):
            yield code_line(line, look)
        title = "Execution table"
        if view.table_from:
            hidden = view.records[view.table_from - 1].number
            above = "step 1 is" if hidden == 1 else f"steps 1-{hidden} are"
            title = f"Execution table ({above} above{': b goes back' if view.interactive else ''})"
        rows = view.records[view.table_from :]
        if not view.phrases:
            rows = tuple(replace(r, notes=()) for r in rows)
        yield execution_table(
            lesson,
            rows,
            current=view.current,
            look=look,
            compact=compact,
            width=options.max_width,
            title=title,
            cell_chars=view.cell_chars,
        )
        if view.tight:
            pass
        elif view.start.state or view.start.variables:  # a trace of pub/sub alone has no rows
            if view.tracker_latest == 0:
                yield tracker_line(view.start, view.records, look)
            else:
                yield tracker_table(
                    view.start,
                    view.records,
                    view.finished,
                    look,
                    compact=compact,
                    latest=view.tracker_latest,
                )
        panel = (
            None if view.tight else moment_panel(lesson, view.current, look, open_=view.moment_open)
        )
        if panel is not None:
            yield panel
        if view.expanded and record is not None:
            yield expanded_panel(record, look, code_of(lesson, record))
        if view.finished and view.closing:
            yield from closing_parts(lesson, view.records, look, view.next_hint)
        if view.footer:
            yield Text(view.footer, style="dim")


class FrameworkComparison:
    """A scenario lesson's comparison (lessons/contrast.py), answered from its run: a table of
    questions by columns where it fits, else one block per column, a line per answer."""

    WIDE = 110  # narrower than this: one block per column

    def __init__(self, lesson: Lesson, records: Sequence[StepRecord], look: Look) -> None:
        from redisqueue_tutor.lessons.contrast import compared

        assert lesson.scenario is not None and lesson.scenario.comparison is not None
        self.columns = lesson.scenario.comparison.columns
        self.rows = compared(lesson, records)
        self.look = look

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        look = self.look
        table = Table(title=COMPARISON, title_justify="left", box=look.box, show_lines=True)
        if options.max_width >= self.WIDE:
            table.add_column("")
            for column in self.columns:
                table.add_column(column, overflow="fold", ratio=1)
            for row in self.rows:
                table.add_row(Text(row.ask, style="bold"), *row.cells)
            yield table
            return
        table.show_header = False
        table.show_lines = False
        table.add_column("", no_wrap=True, min_width=max(len(row.ask) for row in self.rows))
        table.add_column("", ratio=1, overflow="fold")
        for index, column in enumerate(self.columns):
            if index:
                table.add_section()
            table.add_row(Text(column, style="bold cyan"), "")
            for row in self.rows:
                table.add_row(row.ask, row.cells[index])
        yield table


def comparisons(
    lesson: Screenplay, records: Sequence[StepRecord], look: Look
) -> list[RenderableType]:
    """The lesson's comparison, computed from the run: of transports, or of frameworks."""
    parts: list[RenderableType] = []
    if lesson.compare:  # only lessons compare transports
        parts.append(comparison_table(cast("Lesson", lesson), records, look))
    scenario = getattr(lesson, "scenario", None)
    if scenario is not None and scenario.comparison is not None:
        parts.append(FrameworkComparison(cast("Lesson", lesson), records, look))
    return parts


def closing_parts(
    lesson: Screenplay, records: Sequence[StepRecord], look: Look, next_hint: str
) -> list[RenderableType]:
    """How a lesson ends: its comparison (computed from the run), end note and what comes next."""
    parts = comparisons(lesson, records, look)
    if lesson.end_note:
        parts.append(Text(("" if look.plain else "✔ ") + lesson.end_note, style="green"))
    if next_hint:
        parts.append(Text(next_hint, style="bold"))
    return parts


def end_page(
    lesson: Screenplay, records: Sequence[StepRecord], look: Look, next_hint: str
) -> Group:
    title = Text.assemble((lesson.title, "bold"), "\n", ("The end of the lesson", "bold cyan"))
    return Group(title, *closing_parts(lesson, records, look, next_hint))


def _code_lines(view: StepView) -> tuple[str, ...]:
    """The program lines of the current step: a scenario's, named by its run; a lesson's own."""
    if not view.show_code or not view.current:
        return ()
    record = view.records[-1]
    if record.code:
        return record.code
    code = view.lesson.code_for(view.current)
    return (code,) if code else ()


def expanded_panel(record: StepRecord, look: Look, code: Sequence[str] = ()) -> RenderableType:
    """What x opens: the project's code that sent the step's commands (`code`, lines around
    it), the step's commands unclipped, each payload in full, then the commands it left out."""
    parts: list[RenderableType] = []
    if code:
        parts.append(Text("The project's code:", style="bold"))
        parts.append(Text("\n".join(code)))
    if record.commands:
        parts.append(Text("The step's commands:", style="bold"))
        parts.append(Text("\n".join(_whole_line(c) for c in record.commands)))
    parts += [Text(whole) for whole in payloads(record)]
    if record.hidden:
        parts.append(Text("Left out of the table (quiet):", style="bold"))
        parts.append(Text("\n".join(record.hidden), style="dim"))
    if record.undescribed:
        parts.append(Text("Left out, and not described by the lesson:", style="bold yellow"))
        parts.append(Text("\n".join(record.undescribed)))
    if not parts:
        parts.append(Text("Nothing is folded or left out at this step.", style="dim"))
    return Panel(Group(*parts), title="In full (x folds)", title_align="left", box=look.box)


def code_of(lesson: Screenplay, record: StepRecord) -> list[str]:
    """A scenario step's lines of the project, in context (lessons/scenario.py)."""
    if getattr(lesson, "scenario", None) is None or not record.code:
        return []
    from redisqueue_tutor.lessons.scenario import code_in_context

    return code_in_context(cast("Lesson", lesson), record.code)


def _whole_line(command: CommandRecord) -> str:
    return f"{command.client}: {shown_text(command)} -> {reply_text(command.reply, command.error)}"


def payloads(record: StepRecord) -> list[str]:
    """Each payload the step's row shows told by what it is (records.Summary), as JSON in full."""
    import json

    found: dict[str, None] = {}

    def walk(value: object) -> None:
        if isinstance(value, Summary) and str.__str__(value)[:1] == "<":  # a payload told
            found.setdefault(value.whole, None)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    for command in record.commands:
        walk(command.args)
        walk(command.reply)
    shown = []
    for whole in found:
        try:
            shown.append(json.dumps(json.loads(whole), indent=1, ensure_ascii=False))
        except ValueError:
            shown.append(whole)
    return shown


def step_screen(view: StepView, look: Look) -> RenderableType:
    return StepScreen(view, look)


def too_small(width: int, height: int, need: tuple[int, int], look: Look) -> Text:
    """Instead of a broken screen: how big the terminal must be."""
    times = "x" if look.plain else "×"
    return Text(
        f"Make the terminal at least {need[0]}{times}{need[1]} "
        f"(it is {width}{times}{height}); q quits.",
        style="bold yellow",
    )


def opening_card(lesson: Lesson, look: Look, console: Console | None = None) -> RenderableType:
    """The title card a lesson opens on (also a title slide for a class): what it teaches and
    its flow, without the key moments' answers. Parts give way, least needed first, when the
    terminal is short."""
    arrow = "->" if look.plain else "→"
    flow = Text()
    for index, stage in enumerate(lesson.concept.flow):
        flow.append(f"\n  {arrow} " if index else "  ", style="dim")
        flow.append(stage)
    clients = ", ".join(c.name + (f" ({c.role})" if c.role else "") for c in lesson.clients)
    parts: list[RenderableType] = [
        Text.assemble((lesson.title, "bold"), "  ", (f"[{lesson.level}]", "dim")),
        Text(lesson.summary.strip()),
        Text("Flow", style="bold cyan"),
        flow,
        Text(f"Clients: {clients}", style="dim"),
        Text(f"{len(lesson.steps)} steps, each run for real.", style="dim"),
    ]
    card = Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
    if console is None:
        return card
    height = console.size.height - 2  # the footer, and the line the cursor sits on
    for drop in (5, 4, 1):  # the step count, the clients, then the summary
        if len(console.render_lines(card, console.options, pad=False)) <= height:
            break
        parts.pop(drop)
        card = Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
    return card


def concept_card(lesson: Lesson, look: Look) -> RenderableType:
    arrow = "->" if look.plain else "→"
    flow = Text()
    for index, stage in enumerate(lesson.concept.flow):
        if index:
            flow.append(f"\n  {arrow} ", style="dim")
        else:
            flow.append("  ")
        flow.append(stage)
    parts: list[RenderableType] = [
        Text.assemble((lesson.title, "bold"), "  ", (f"[{lesson.level}]", "dim")),
        Text(lesson.summary.strip()),
        Text("Flow", style="bold cyan"),
        flow,
        Text("Concept", style="bold cyan"),
        Text(lesson.concept.text.strip()),
    ]
    if lesson.concept.snapshot:
        parts.append(Text("In short", style="bold cyan"))
        parts.append(Text("\n".join(f"{look.bullet()} {s}" for s in lesson.concept.snapshot)))
    if lesson.moments:
        parts.append(Text("Key moments", style="bold cyan"))
        for moment in lesson.moments:
            steps = f"{noun(len(moment.steps), 'step')} {joined(moment.steps)}"
            parts.append(
                Text.assemble(
                    (f"{moment.question}", "bold"),
                    (f"  ({steps})", "dim"),
                    "\n",
                    moment.answer.strip(),
                )
            )
    clients = ", ".join(c.name + (f" ({c.role})" if c.role else "") for c in lesson.clients)
    parts.append(Text(f"Clients: {clients}", style="dim"))
    parts.append(Text(f"Run it: tutor step {lesson.id}", style="dim"))
    return Panel(Group(*parts), box=look.box, title=lesson.id, title_align="left")
