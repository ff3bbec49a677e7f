"""Commands for instructors: present (a lesson on a projector), export (handouts), sandbox.

Like the lesson commands they import the engine (and so redis) only when they run: `tutor --help`
and `tutor list` stay quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from redisqueue_tutor.cli.app import (
    EXIT_BAD_INPUT,
    TEACH,
    BackendOpt,
    Exit,
    LessonArg,
    LessonsDir,
    PlainOpt,
    command,
    friendly,
)
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.screens.console import Look, make_console
from redisqueue_tutor.wording import counted

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from redisqueue_tutor.screens.handout import Format


@command(TEACH)
@friendly
def present(
    lesson: LessonArg,
    notes: Annotated[
        bool,
        typer.Option(
            "--notes", help="Show the speaker notes under each step, once its result is revealed."
        ),
    ] = False,
    notes_file: Annotated[
        Path | None,
        typer.Option(
            "--notes-file",
            help="Write the speaker notes to FILE as you go, ahead of the reveal, for a second "
            "terminal to follow (tail -f FILE); the projected screen never shows them early.",
            show_default=False,
        ),
    ] = None,
    pauses: Annotated[
        bool,
        typer.Option(
            "--pauses/--no-pauses",
            help="Put each step's question to the class before its result is revealed.",
        ),
    ] = True,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto", help="Advance by itself, one screen every --delay seconds (space pauses)."
        ),
    ] = False,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, max=600.0, help="Seconds per screen with --auto.")
    ] = 8.0,
    backend: BackendOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
    class_code: Annotated[
        str | None,
        typer.Option(
            "--class",
            help="A class you opened (`tutor class open`): students who follow see each screen"
            " on their own.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Present a lesson to a class: a title slide, then each command and its result large.

    One key per screen: Enter, space, → or a clicker's Page Down advance; b or ← go back; q quits. Before a step with a question for the class, the question comes first and the result and the notes stay hidden.
    """
    found = find_lesson(lesson, lessons_dir or ())

    from redisqueue_tutor.modes.present import (
        NotesFile,
        present_auto,
        present_interactive,
        present_through,
    )
    from redisqueue_tutor.modes.scenario import open_run
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import stdin_is_interactive
    from redisqueue_tutor.screens.keys import terminal_keys
    from redisqueue_tutor.screens.step import opening_card

    console = make_console(plain=plain)
    look = Look(plain)
    follow = None
    if notes_file is not None:
        try:
            follow = NotesFile(notes_file, found)
        except OSError as exc:
            raise Exit(
                EXIT_BAD_INPUT, f"cannot write {notes_file}: {exc.strerror or exc}"
            ) from None

    def card(console_: Console) -> RenderableType:
        return opening_card(found, look, console_)

    with ExitStack() as stack:
        told = stack.enter_context(_told_class(class_code, found.id, pauses))
        chosen = stack.enter_context(running(backend))
        run = stack.enter_context(open_run(found, chosen))
        where = chosen.describe()
        if stdin_is_interactive():
            with terminal_keys() as keys:
                if auto:
                    present_auto(
                        run, console, keys, look, where, delay=delay, notes=notes,
                        pauses=pauses, card=card, notes_file=follow, follow=told,
                    )  # fmt: skip
                else:
                    present_interactive(
                        run, console, keys, look, where, notes=notes, pauses=pauses, card=card,
                        notes_file=follow, follow=told,
                    )  # fmt: skip
        else:
            present_through(
                run, console, look, where, notes=notes, pauses=pauses, card=card, notes_file=follow
            )


@contextmanager
def _told_class(
    code: str | None, lesson: str, pauses: bool
) -> Iterator[Callable[[int], None] | None]:
    """With --class: every screen told to the class (follow me), and the end of it."""
    if code is None:
        yield None
        return
    from redisqueue_tutor.classroom.follow import Broadcast
    from redisqueue_tutor.classroom.teacher import teaching

    with teaching(code, os.environ.get("TUTOR_CLASS_URL")) as session:
        told = Broadcast(session, lesson, pauses=pauses)
        try:
            yield told
        finally:
            told.end()


def _format_for(output: Path | None, given: str | None) -> Format:
    from redisqueue_tutor.screens.handout import SUFFIXES, Format

    if given is not None:
        try:
            return Format(given.lower())
        except ValueError:
            raise Exit(EXIT_BAD_INPUT, f"unknown format {given!r}: use md, html or svg") from None
    if output is None or str(output) == "-":
        return Format.md
    found = SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise Exit(
            EXIT_BAD_INPUT,
            f"cannot tell the format from {output.name!r}: add --format md, html or svg",
        )
    return found


def _write(output: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, then a rename."""
    folder = output.parent  # Path("handout.md").parent is Path(".")
    if not folder.is_dir():
        raise Exit(EXIT_BAD_INPUT, f"{folder}: no such folder for --output")
    if output.is_dir():
        raise Exit(EXIT_BAD_INPUT, f"{output}: is a folder; give a file name for --output")
    try:
        import tempfile

        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        temporary = Path(name)
        temporary.chmod(0o666 & ~umask)  # mkstemp makes 0600; a handout is to be shared
        temporary.replace(output)
    except OSError as exc:
        raise Exit(EXIT_BAD_INPUT, f"cannot write {output}: {exc.strerror or exc}") from None


@command(TEACH)
@friendly
def export(
    lesson: LessonArg,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="md, html or svg (default: from the --output suffix, else md).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The file to write (default, or '-': standard output)."
        ),
    ] = None,
    answers: Annotated[
        bool,
        typer.Option(
            "--answers",
            help="End with an answer key on a page of its own: each question's letter as"
            " printed, the answer and the worked solution.",
        ),
    ] = False,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            min=0,
            help="The order of the quiz's options: the same seed prints the same handout (and"
            " answer key); another seed another version.",
        ),
    ] = 1,
    width: Annotated[
        int, typer.Option("--width", min=60, max=200, help="Columns of the HTML and SVG pages.")
    ] = 100,
    backend: BackendOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
) -> None:
    """Write a handout of a lesson, from a real run: concept, the table after each step, the
    tracker, key moments and the quiz, as Markdown, HTML or SVG.

    The quiz's options are in a seeded order that never depends on which one is right, so a letter
    gives no answer away. With --answers the handout ends with an answer key (on a page of its own
    when printed from HTML) whose letters are those printed for the same --seed.
    """
    found = find_lesson(lesson, lessons_dir or ())
    chosen_format = _format_for(output, fmt)

    from redisqueue_tutor.modes.scenario import run_whole
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.handout import Handout, render_handout

    with running(backend) as chosen:
        start, records = run_whole(found, chosen)
        server = str(chosen.info) if chosen.info else chosen.kind
    handout = Handout(found, start, tuple(records), server, answers=answers, seed=seed)
    text = render_handout(handout, chosen_format, width=width, plain=plain)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _write(output, text)
    questions = counted(len(found.questions), "question")
    key = ", with the answer key" if answers and found.questions else ""
    make_console(stderr=True, plain=plain).print(
        f"Wrote {output} ({chosen_format.value}, {counted(len(found.steps), 'step')},"
        f" {questions} in version {seed}{key}).",
        markup=False,
        soft_wrap=True,
    )


@command(TEACH)
@friendly
def sandbox(
    backend: BackendOpt = None,
    plain: PlainOpt = False,
) -> None:
    """Type Redis commands and see each one in the execution table, with a live view of every
    list, stream and channel you touched. help, undo, history; Tab completes command names.

    Lists, streams with consumer groups (XADD, XREADGROUP, XACK, XPENDING, XAUTOCLAIM, XGROUP,
    ...) and pub/sub, where SUBSCRIBE opens a listener lane. Blocking commands wait at most 10 s;
    Ctrl-C cancels the wait and keeps the session. Commands that reach beyond the sandbox
    (FLUSHALL, KEYS, CONFIG, ...) are refused. Piped, it reads one command a line and stops at the
    end of input.
    """
    from redisqueue_tutor.modes.sandbox import Sandbox
    from redisqueue_tutor.modes.sandbox.shell import LineReader, run_shell
    from redisqueue_tutor.screens.console import stdin_is_interactive

    console = make_console(plain=plain)
    err = make_console(stderr=True, plain=plain)
    interactive = stdin_is_interactive()
    reader = LineReader(console, sys.stdin, interactive=interactive)
    with Sandbox(backend) as box:
        run_shell(box, console, reader, Look(plain), clear=interactive, err=err)
