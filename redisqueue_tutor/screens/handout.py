"""Handouts: a whole lesson run written to Markdown, HTML or SVG.

Everything in a handout comes from one real run (records, never typed cells): the concept, the
execution table after each step, the variable tracker, the key moments, the comparison where the
lesson has one, and the quiz (the lesson's own questions, in its order). The options of each
question are in a seeded order (quiz.option_orders), never the file's, so a letter gives nothing
away; the same seed prints the same options, and with answers an answer key follows on a page of
its own, its letters those of the printed options.

HTML and SVG are Rich's own exporters over the same screens `tutor step` draws, so a handout looks
like the terminal. Markdown is written from tables.py's plain cells, as real Markdown tables that
a wiki or a Git host renders.
"""

from __future__ import annotations

import enum
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS, Question
from redisqueue_tutor.lessons.quiz import QuizItem, option_orders
from redisqueue_tutor.run.records import StepRecord
from redisqueue_tutor.run.tables import EXECUTION_HEADERS, execution_row, tracker
from redisqueue_tutor.screens.console import Look, make_console
from redisqueue_tutor.screens.step import (
    COMPARISON,
    StepView,
    comparison_table,
    concept_card,
    step_screen,
)
from redisqueue_tutor.screens.table import quiet_line

DEFAULT_WIDTH = 100
DEFAULT_SEED = 1  # the handout a teacher prints and its answer key agree without a --seed


class Format(enum.StrEnum):
    md = "md"
    html = "html"
    svg = "svg"


SUFFIXES = {".md": Format.md, ".markdown": Format.md, ".html": Format.html, ".htm": Format.html}
SUFFIXES[".svg"] = Format.svg


@dataclass(frozen=True)
class Handout:
    """One finished run of a lesson, and how to write it up."""

    lesson: Lesson
    start: StepRecord
    records: tuple[StepRecord, ...]
    server: str  # where it ran, without the run's namespace (it is gone once the run ends)
    answers: bool = False
    seed: int = DEFAULT_SEED  # the order of the quiz's options

    @property
    def questions(self) -> Sequence[Question]:
        return self.lesson.questions

    @property
    def items(self) -> tuple[QuizItem, ...]:
        """The quiz as printed: each question with its options in the seed's order."""
        orders = option_orders(self.questions, self.seed)
        return tuple(QuizItem(q, order) for q, order in zip(self.questions, orders, strict=True))


# --------------------------------------------------------------------------------------------------
# Rich: the screens of `tutor step`, one after another, then the quiz


def handout_renderables(handout: Handout, look: Look) -> list[RenderableType]:
    lesson = handout.lesson
    total = len(lesson.steps)
    line = "-" if look.plain else "─"
    parts: list[RenderableType] = [
        Text.assemble(
            (lesson.title, "bold"), "\n", (f"Handout, from a run on {handout.server}", "dim")
        ),
        concept_card(lesson, look),
        Rule("The run, step by step", characters=line, style="cyan"),
    ]
    for number in range(1, total + 1):
        view = StepView(lesson, handout.start, handout.records[:number], total, handout.server)
        if number > 1:
            parts.append(Rule(characters=line, style="dim"))
        parts.append(step_screen(view, look))
    items = handout.items
    if items:
        parts.append(Rule(f"Quiz (version {handout.seed})", characters=line, style="cyan"))
        for number, item in enumerate(items, start=1):
            parts.append(_question_panel(number, item, look))
    return parts


def answer_key_renderables(handout: Handout, look: Look) -> list[RenderableType]:
    """The answer key, for the end of the handout: number, letter as printed, answer, solution."""
    items = handout.items
    if not handout.answers or not items:
        return []
    line = "-" if look.plain else "─"
    key = Table.grid(padding=(0, 1))
    key.add_column(justify="right", no_wrap=True)
    key.add_column()
    for number, item in enumerate(items, start=1):
        body = Text.assemble((f"{item.answer_letter}) {item.question.key.text}", "bold green"))
        for step, text in enumerate(item.question.solution, start=1):
            body.append(f"\n  {step}. {text}")
        key.add_row(Text(f"{number}.", style="bold"), body)
        key.add_row("", "")
    return [Rule(f"Answer key (version {handout.seed})", characters=line, style="cyan"), key]


def _question_panel(number: int, item: QuizItem, look: Look) -> Panel:
    question = item.question
    body = Text(question.prompt, style="bold")
    for position, option in enumerate(item.options):
        body.append(f"\n  {LETTERS[position]}) {option.text}")
    return Panel(
        body, title=f"{number}. {question.level}", title_align="left", box=look.box, expand=True
    )


HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{{stylesheet}}
body {{{{
    color: {{foreground}};
    background-color: {{background}};
    margin: 1.5em;
}}}}
pre {{{{ font-size: 14px; font-family: Menlo, 'DejaVu Sans Mono', consolas, 'Courier New', monospace; }}}}
code {{{{ font-family: inherit; }}}}
.answer-key {{{{ break-before: page; page-break-before: always; }}}}
</style>
</head>
<body>
<pre><code>{{code}}</code></pre>
</body>
</html>
"""


def _recording_console(width: int, plain: bool) -> Console:
    # record=True keeps every segment with its style; the file is only a sink.
    return make_console(io.StringIO(), plain=plain, width=width, record=True)


# Printed between the handout and its answer key, then replaced in the HTML by a new <pre> that
# starts a printed page. One recording and one export keep one stylesheet for both.
PAGE_BREAK = "@@tutor-answer-key-page-break@@"
ANSWER_KEY_PAGE = '</code></pre>\n<pre class="answer-key"><code>'


def handout_html(handout: Handout, *, width: int = DEFAULT_WIDTH, plain: bool = False) -> str:
    look = Look(plain)
    console = _recording_console(width, plain)
    console.print(Group(*handout_renderables(handout, look)))
    key = answer_key_renderables(handout, look)
    if key:
        console.print(Text(PAGE_BREAK))
        console.print(Group(*key))
    page = HTML_PAGE.format(title=html.escape(f"{handout.lesson.title} (handout)"))
    exported = console.export_html(code_format=page, inline_styles=False)
    if key:
        assert exported.count(PAGE_BREAK + "\n") == 1, "the page break marker was styled or split"
        exported = exported.replace(PAGE_BREAK + "\n", ANSWER_KEY_PAGE)
    return exported


def handout_svg(handout: Handout, *, width: int = DEFAULT_WIDTH, plain: bool = False) -> str:
    look = Look(plain)
    console = _recording_console(width, plain)
    console.print(
        Group(*handout_renderables(handout, look), *answer_key_renderables(handout, look))
    )
    return console.export_svg(title=f"{handout.lesson.title} (handout)")


# --------------------------------------------------------------------------------------------------
# Markdown, from the plain cells


def _escape(text: str) -> str:
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _code(text: str) -> str:
    """Each line as inline code; Markdown table cells cannot hold a line break, so <br> joins."""
    lines = [line for line in text.split("\n") if line] or [""]
    out = []
    for line in lines:
        fence = "``" if "`" in line else "`"
        pad = " " if line.startswith("`") or line.endswith("`") else ""
        out.append(f"{fence}{pad}{line.replace('|', '&#124;')}{pad}{fence}" if line else "")
    return "<br>".join(out)


def _cell(text: str) -> str:
    return "<br>".join(_escape(line) for line in text.split("\n"))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _execution_md(handout: Handout, upto: int) -> list[str]:
    keys = frozenset(handout.lesson.key_names)
    rows = []
    for record in handout.records[:upto]:
        row = execution_row(record, keys)
        step = f"**{row.step}**" if record.number == upto else row.step
        command = _code(row.command) if row.lines else _cell(row.command)
        reply = _code(row.reply)
        if any(line.note for line in row.lines):  # a scenario's: what the framework does
            command = "<br>".join(
                _code(line.command) + (f"<br>*{_escape(line.note)}*" if line.note else "")
                for line in row.lines
            )
            reply = "<br>".join(
                _code(line.reply) + ("<br>" if line.note else "") for line in row.lines
            )
        if row.quiet:
            command += f"<br>{_escape(quiet_line(row.quiet))}"
        rows.append(
            [
                step,
                _cell(row.action),
                command,
                reply,
                _code(row.state),
                _code(row.output),
            ]
        )
    return _table(EXECUTION_HEADERS, rows)


def _tracker_md(handout: Handout, upto: int) -> list[str]:
    data = tracker(handout.start, handout.records[:upto], upto == len(handout.lesson.steps))
    rows = [[_escape(name), *(_code(cell) for cell in cells)] for name, cells in data.rows]
    return _table(("Variable", *data.columns), rows)


def handout_markdown(handout: Handout) -> str:
    lesson = handout.lesson
    total = len(lesson.steps)
    out = [
        f"# {_escape(lesson.title)}",
        "",
        f"*{lesson.level}* · handout from a run on {_escape(handout.server)}",
        "",
        _escape(lesson.summary.strip()),
        "",
        "## Concept",
        "",
    ]
    out += [f"{i}. {_escape(stage)}" for i, stage in enumerate(lesson.concept.flow, start=1)]
    out += ["", _escape(lesson.concept.text.strip()), ""]
    if lesson.concept.snapshot:
        out += ["**In short**", ""]
        out += [f"- {_escape(fact)}" for fact in lesson.concept.snapshot]
        out.append("")
    clients = ", ".join(
        f"**{c.name}**" + (f" ({_escape(c.role)})" if c.role else "") for c in lesson.clients
    )
    out += [f"Clients: {clients}", "", "## The run, step by step", ""]
    for number in range(1, total + 1):
        record = handout.records[number - 1]
        out += [f"### Step {number} of {total}: {_escape(record.action)}", ""]
        out += _execution_md(handout, number)
        out += ["", "*Variable tracker*", ""]
        out += _tracker_md(handout, number)
        moment = lesson.moment_for(number)
        if moment is not None:
            out += ["", f"> **Key moment: {_escape(moment.question.strip())}**", ">"]
            out += [f"> {_escape(line)}" for line in moment.answer.strip().splitlines()]
        out.append("")
    if lesson.compare:
        out += _comparison_md(handout)
    if lesson.scenario is not None and lesson.scenario.comparison is not None:
        out += _frameworks_md(handout)
    if lesson.end_note:
        out += [_escape(lesson.end_note), ""]
    items = handout.items
    if items:
        out += ["## Quiz", "", f"*Version {handout.seed}*", ""]
        for number, item in enumerate(items, start=1):
            question = item.question
            out += [f"**{number}. {_escape(question.prompt)}** *({question.level})*", ""]
            out += [
                f"- {LETTERS[position]}) {_escape(option.text)}"
                for position, option in enumerate(item.options)
            ]
            out.append("")
        if handout.answers:
            out += [f"## Answer key (version {handout.seed})", ""]
            for number, item in enumerate(items, start=1):
                answer = f"{item.answer_letter}) {_escape(item.question.key.text)}"
                out += [f"**{number}. {answer}**", ""]
                out += [
                    f"{step}. {_escape(text)}"
                    for step, text in enumerate(item.question.solution, start=1)
                ]
                out.append("")
    return "\n".join(out).rstrip() + "\n"


def _comparison_md(handout: Handout) -> list[str]:
    # render.comparison_table drawn as plain text: the comparison's own API is render.py's to call.
    console = make_console(io.StringIO(), plain=True, width=DEFAULT_WIDTH)
    with console.capture() as capture:
        console.print(comparison_table(handout.lesson, handout.records, Look(plain=True)))
    return [f"## {COMPARISON}", "", "```", capture.get().rstrip(), "```", ""]


def _frameworks_md(handout: Handout) -> list[str]:
    """A scenario lesson's comparison (lessons/contrast.py) as a Markdown table."""
    from redisqueue_tutor.lessons.contrast import compared

    lesson = handout.lesson
    assert lesson.scenario is not None and lesson.scenario.comparison is not None
    columns = lesson.scenario.comparison.columns
    out = [f"## {COMPARISON}", ""]
    out += ["| | " + " | ".join(map(_cell, columns)) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in compared(lesson, handout.records):
        out.append(f"| **{_cell(row.ask)}** | " + " | ".join(map(_cell, row.cells)) + " |")
    return [*out, ""]


def render_handout(
    handout: Handout, fmt: Format, *, width: int = DEFAULT_WIDTH, plain: bool = False
) -> str:
    if fmt is Format.md:
        return handout_markdown(handout)
    if fmt is Format.html:
        return handout_html(handout, width=width, plain=plain)
    return handout_svg(handout, width=width, plain=plain)
