"""The course: `tutor` alone (the lessons in teaching order, your progress, what to do next),
`tutor next` (do it) and `tutor glossary` (the words the lessons use).

Read with tomllib and the summary cache only, like `tutor list`: no Redis is imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from redisqueue_tutor import __version__
from redisqueue_tutor.cli.app import (
    EXIT_BAD_INPUT,
    LEARN,
    Exit,
    LessonsDir,
    PlainOpt,
    app,
    command,
    friendly,
    print_error,
)
from redisqueue_tutor.lessons import LessonError, LessonSummary, discover, summarize_all
from redisqueue_tutor.screens.console import Look, make_console

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.course import Standing


def course_standings(
    lessons_dir: LessonsDir,
) -> tuple[list[tuple[LessonSummary, bool]], list[Standing]]:
    """The lessons in teaching order with where the learner stands on each."""
    from redisqueue_tutor.lessons.course import Standing, load_course
    from redisqueue_tutor.progress import ProgressError, ProgressStore

    sources = discover(lessons_dir or ())
    course = load_course(lessons_dir or ())
    ordered = course.ordered(list(sources))
    summaries = summarize_all([sources[i].path for i in ordered])
    err = make_console(stderr=True)
    try:
        loaded = ProgressStore().load()
        progress = loaded.progress
        if loaded.warning:
            err.print(f"Warning: {loaded.warning}", markup=False, soft_wrap=True)
    except ProgressError:
        progress = None
    lessons: list[tuple[LessonSummary, bool]] = []
    standings: list[Standing] = []
    for lesson_id, summary in zip(ordered, summaries, strict=True):
        if isinstance(summary, LessonError):
            print_error(err, str(summary))
            continue
        entry = progress.lesson(lesson_id) if progress else None
        seen = len([s for s in entry.steps_seen if s <= summary.steps]) if entry else 0
        best = (
            f"{entry.best_score}/{entry.best_total}"
            if entry and entry.best_score is not None
            else ""
        )
        lessons.append((summary, sources[lesson_id].builtin))
        standings.append(
            Standing(lesson_id, seen, summary.steps, entry.quizzes if entry else 0, best)
        )
    return lessons, standings


def show_course(lessons_dir: LessonsDir = None, plain: bool = False) -> None:
    from redisqueue_tutor.lessons.course import next_command
    from redisqueue_tutor.screens.console import course_table

    console = make_console(plain=plain)
    lessons, standings = course_standings(lessons_dir)
    console.print(course_table(lessons, standings, Look(plain)))
    upcoming = next_command(standings)
    if upcoming:
        console.print(f"Next: [bold]{upcoming}[/]   (or just: tutor next)", soft_wrap=True)
    else:
        console.print(
            "Every lesson stepped and quizzed. `tutor quiz LESSON --review` revisits misses."
        )
    console.print("[dim]tutor --help lists every command.[/]")


@command(LEARN, "next")
@friendly
def next_(lessons_dir: LessonsDir = None, plain: PlainOpt = False) -> None:
    """Do the next thing in the course: step the next lesson, or take its quiz."""
    from redisqueue_tutor.lessons.course import next_command

    _lessons, standings = course_standings(lessons_dir)
    upcoming = next_command(standings)
    if upcoming is None:
        make_console(plain=plain).print("The course is done: every lesson stepped and quizzed.")
        return
    _tutor, verb, lesson_id = upcoming.split()
    make_console(stderr=True, plain=plain).print(f"[dim]{upcoming}[/]")
    if verb == "step":
        from redisqueue_tutor.cli.lesson_commands import step

        step(lesson=lesson_id, lessons_dir=lessons_dir, plain=plain)
    else:
        from redisqueue_tutor.cli.quiz_commands import quiz

        quiz(lesson=lesson_id, lessons_dir=lessons_dir, plain=plain)


@command(LEARN)
@friendly
def glossary(
    term: Annotated[
        str | None,
        typer.Argument(help="A word to look up (default: every word).", show_default=False),
    ] = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
) -> None:
    """The words the lessons use: head, tail, nil, ack, pending, fan-out, at-least-once, ..."""
    from redisqueue_tutor.lessons.course import load_course
    from redisqueue_tutor.screens.console import glossary_table

    terms = load_course(lessons_dir or ()).glossary
    if term is not None:
        wanted = term.strip().lower()
        found = [t for t in terms if wanted in t.term.lower()]
        if not found:
            known = ", ".join(t.term for t in terms)
            raise Exit(EXIT_BAD_INPUT, f"no glossary entry for {term!r}; the glossary has: {known}")
        terms = tuple(found)
    make_console(plain=plain).print(glossary_table(terms, Look(plain)))


# `tutor` itself: --version, and the course when no command is given.


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tutor {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    context: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Learn Redis as the message broker behind Django apps, by running it one step at a time.

    Every table cell comes from a real command run on the embedded fakeredis or on your own Redis.
    Without a command: the course, your progress, and what to do next.
    """
    if context.invoked_subcommand is None:
        friendly(show_course)()
