"""Commands for practice and the learner's record: quiz, progress, reset."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from redisqueue_tutor.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    LEARN,
    BackendOpt,
    Exit,
    LessonArg,
    LessonsDir,
    PlainOpt,
    class_polls,
    class_reporter,
    command,
    confirm,
    friendly,
)
from redisqueue_tutor.lessons import LessonError, discover, find_lesson, load_lesson
from redisqueue_tutor.screens.console import Look, key_reader, make_console

if TYPE_CHECKING:
    from redisqueue_tutor.classroom.student import Reporter
    from redisqueue_tutor.lessons.quiz import Summary
    from redisqueue_tutor.modes.attend import ClassPolls
    from redisqueue_tutor.progress import ProgressStore

    pass


class Difficulty(enum.StrEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


def _warn(plain: bool, message: str | None) -> None:
    if message:
        make_console(stderr=True, plain=plain).print(
            f"Warning: {message}", markup=False, soft_wrap=True
        )


def _save_quiz(store: ProgressStore, lesson_id: str, summary: Summary, plain: bool) -> None:
    """Keep the quiz's score and missed questions (a failure to save is a warning)."""
    from redisqueue_tutor.progress import ProgressError, with_quiz

    if not summary.answered:
        return
    try:
        saved = store.update(
            lambda p: with_quiz(
                p,
                lesson_id,
                right=summary.right,
                missed=summary.missed,
                score=summary.score,
                total=summary.answered,
                complete=summary.complete,
            )
        )
        _warn(plain, saved.warning)
    except ProgressError as exc:
        _warn(plain, f"progress not saved: {exc}")


@contextmanager
def _in_class(*, interactive: bool) -> Iterator[tuple[Reporter | None, ClassPolls | None]]:
    """The class the learner joined: its reporter, and in a terminal its polls (stopped after)."""
    reporter = class_reporter()
    polls = class_polls(reporter) if interactive else None
    try:
        yield reporter, polls
    finally:
        if polls is not None:
            polls.stop()


def _tell_class(reporter: Reporter | None, lesson_id: str, summary: Summary, plain: bool) -> None:
    """The score of a whole quiz for the class the learner joined; the last answers sent."""
    if reporter is None:
        return
    if summary.complete:
        reporter.report("quiz", lesson=lesson_id, score=summary.score, total=summary.answered)
    _warn(plain, reporter.close())


@command(LEARN)
@friendly
def quiz(
    lesson: LessonArg,
    difficulty: Annotated[
        Difficulty | None, typer.Option("--difficulty", help="Only questions of this level.")
    ] = None,
    count: Annotated[
        int, typer.Option("--count", min=1, max=100, help="How many questions to ask.")
    ] = 10,  # quiz.DEFAULT_COUNT
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            help="Repeat a quiz exactly: same questions, same order, same options (default: a"
            " new seed each time, shown at the end).",
            show_default=False,
        ),
    ] = None,
    no_shuffle: Annotated[
        bool,
        typer.Option(
            "--no-shuffle",
            help="Ask the lesson's questions in the lesson's order (easy before hard). The"
            " options stay in a seeded order that does not depend on which one is right.",
        ),
    ] = False,
    review: Annotated[
        bool, typer.Option("--review", help="Only the questions you missed before.")
    ] = False,
    backend: BackendOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
) -> None:
    """Practise a lesson: questions with hints, worked solutions and your misconceptions.

    In a terminal: answer with a letter (or ↑/↓ and Enter), h for the hint, q to stop.

    Piped: one answer a line on standard input; the last line printed is `Score: X/Y`.
    """
    found = find_lesson(lesson, lessons_dir or ())

    from redisqueue_tutor.lessons.generated import quiz_pool
    from redisqueue_tutor.lessons.quiz import DEFAULT_COUNT, select, summarize
    from redisqueue_tutor.modes.quiz import answers_for, ended_line, take_quiz
    from redisqueue_tutor.modes.scenario import run_whole
    from redisqueue_tutor.progress import ProgressError, ProgressStore
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import stdin_is_interactive
    from redisqueue_tutor.screens.quiz import summary_panel

    console = make_console(plain=plain)
    look = Look(plain)
    with running(backend) as chosen:
        start, records = run_whole(found, chosen)
    pool = quiz_pool(found, start, records)

    store = ProgressStore()
    only = None
    if review:
        try:
            loaded = store.load()
        except ProgressError as exc:
            raise Exit(EXIT_BAD_INPUT, str(exc)) from None
        _warn(plain, loaded.warning)
        only = set(loaded.progress.lesson(found.id).missed)
        if not only:
            console.print(f"Nothing to review: no missed questions saved for {found.id}.")
            return
    import secrets

    used_seed = seed if seed is not None else secrets.randbelow(1_000_000)
    items = select(
        pool,
        seed=used_seed,
        level=difficulty.value if difficulty else None,
        count=count,
        shuffle=not no_shuffle,
        only=only,
    )
    if not items:
        what = f"{difficulty.value} questions" if difficulty else "questions"
        raise Exit(EXIT_BAD_INPUT, f"lesson {found.id} has no {what} to ask")

    interactive = stdin_is_interactive()
    with _in_class(interactive=interactive) as (reporter, polls):
        answers = answers_for(
            console, look, interactive=interactive, read_key=key_reader(), stream=sys.stdin
        )
        answers.interruption = polls  # a class's poll may come in the middle of the quiz
        run = take_quiz(
            items,
            found,
            start,
            records,
            console=console,
            answers=answers,
            look=look,
            on_answer=reporter.answered(found.id) if reporter else None,
        )
    summary = summarize(items, run.outcomes, run.seconds, found.id)
    _tell_class(reporter, found.id, summary, plain)
    if run.ended != "done":
        console.print(ended_line(run, len(items)))
    _save_quiz(store, found.id, summary, plain)
    again = "".join(
        [
            f" --difficulty {difficulty.value}" if difficulty else "",
            f" --count {count}" if count != DEFAULT_COUNT else "",
            " --no-shuffle" if no_shuffle else "",
            " --review" if review else "",
        ]
    )
    console.print(summary_panel(summary, look, found.id, used_seed, again))
    if not interactive:
        console.print(f"Score: {summary.score}/{summary.answered}", markup=False)
    if run.ended == "interrupted":
        raise Exit(EXIT_INTERRUPTED)


@command(LEARN)
@friendly
def progress(lessons_dir: LessonsDir = None, plain: PlainOpt = False) -> None:
    """Show your progress: steps seen, best quiz score, missed questions, how far each lesson is done."""
    from redisqueue_tutor.progress import ProgressError, ProgressStore, data_dir
    from redisqueue_tutor.screens.quiz import ProgressRow, progress_table

    console = make_console(plain=plain)
    try:
        loaded = ProgressStore().load()
    except ProgressError as exc:
        raise Exit(EXIT_BAD_INPUT, str(exc)) from None
    _warn(plain, loaded.warning)
    saved = loaded.progress.lessons
    totals: dict[str, int | None] = {}
    for lesson_id, source in sorted(discover(lessons_dir or ()).items()):
        try:
            totals[lesson_id] = len(load_lesson(source.path).steps)
        except LessonError:
            totals[lesson_id] = None
    rows = []
    for lesson_id in sorted(set(totals) | set(saved)):
        entry = loaded.progress.lesson(lesson_id)
        total = totals.get(lesson_id)
        rows.append(
            ProgressRow(
                lesson_id=lesson_id,
                steps_seen=len([s for s in entry.steps_seen if total is None or s <= total]),
                total_steps=total,
                best="-" if entry.best_score is None else f"{entry.best_score}/{entry.best_total}",
                missed=len(entry.missed),
                done=entry.done(total) if total else 0.0,
            )
        )
    console.print(progress_table(rows, Look(plain)))
    console.print(f"Saved in {data_dir()}", style="dim", markup=False, soft_wrap=True)


@command(LEARN)
@friendly
def reset(
    lesson: Annotated[
        str | None, typer.Argument(help="The lesson to clear (default: every lesson).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    plain: PlainOpt = False,
) -> None:
    """Clear saved progress (steps seen, best score, missed questions), after asking."""
    from redisqueue_tutor.progress import ProgressError, ProgressStore, without

    console = make_console(plain=plain)
    store = ProgressStore()
    try:
        current = store.load()
    except ProgressError as exc:
        raise Exit(EXIT_BAD_INPUT, str(exc)) from None
    _warn(plain, current.warning)
    if lesson is not None and lesson not in current.progress.lessons:
        console.print(f"There is no saved progress for {lesson!r}.", markup=False)
        return
    if lesson is None and not current.progress.lessons:
        console.print("There is no saved progress to clear.")
        return
    what = f"the saved progress of {lesson}" if lesson else "ALL saved progress"
    if not yes and not confirm(console, f"Clear {what}? [y/N] "):
        console.print("Nothing cleared.")
        return
    try:
        store.update(lambda p: without(p, lesson))
    except ProgressError as exc:
        raise Exit(EXIT_BAD_INPUT, str(exc)) from None
    console.print(f"Cleared {what}.")
