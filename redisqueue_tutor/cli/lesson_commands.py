"""Commands that read and run lessons: list, show, step, check.

They import the engine (and so redis and fakeredis) only when they run a lesson: `tutor --help` and
`tutor list` stay quick.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from redisqueue_tutor.cli.app import (
    AUTHOR,
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    LEARN,
    BackendOpt,
    Exit,
    LessonArg,
    LessonsDir,
    PlainOpt,
    class_polls,
    class_reporter,
    command,
    friendly,
    print_error,
)
from redisqueue_tutor.lessons import (
    COURSE_FILE,
    LESSON_SUFFIX,
    LessonError,
    builtin_lessons_dir,
    discover,
    find_lesson,
    lesson_dirs,
    summarize_all,
)
from redisqueue_tutor.screens.console import Look, key_reader, make_console
from redisqueue_tutor.wording import counted, joined

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console, RenderableType

    from redisqueue_tutor.classroom.student import Reporter
    from redisqueue_tutor.lessons.model import Lesson
    from redisqueue_tutor.modes.step import Opening


@command(AUTHOR, "list")
@friendly
def list_lessons(lessons_dir: LessonsDir = None, plain: PlainOpt = False) -> None:
    """List the lessons: id, title, level, number of steps and quiz questions."""
    from redisqueue_tutor.screens.console import LessonEntry, lesson_list

    console = make_console(plain=plain)
    err = make_console(stderr=True, plain=plain)
    entries = []
    broken = 0
    sources = [source for _id, source in sorted(discover(lessons_dir or ()).items())]
    for source, summary in zip(sources, summarize_all([s.path for s in sources]), strict=True):
        if isinstance(summary, LessonError):
            broken += 1
            print_error(err, str(summary))
            continue
        entries.append(
            LessonEntry(
                summary.id,
                summary.title,
                summary.level,
                summary.steps,
                summary.questions,
                source.builtin,
            )
        )
    console.print(lesson_list(entries, Look(plain)))
    if broken:
        raise Exit(EXIT_BAD_INPUT)


@command(AUTHOR)
@friendly
def show(
    lesson: LessonArg,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
) -> None:
    """Show a lesson's concept card: the flow, the summary and the key moments."""
    from redisqueue_tutor.screens.step import concept_card

    found = find_lesson(lesson, lessons_dir or ())
    make_console(plain=plain).print(concept_card(found, Look(plain)))


@command(LEARN)
@friendly
def step(
    lesson: Annotated[
        str | None,
        typer.Argument(help="Lesson id (see `tutor list`) or a lesson file.", show_default=False),
    ] = None,
    auto: Annotated[
        bool, typer.Option("--auto", help="Play hands-free, one step every --delay seconds.")
    ] = False,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, max=60.0, help="Seconds between steps with --auto.")
    ] = 1.5,
    predict: Annotated[
        bool,
        typer.Option("--predict", help="Guess each pop and push before its result is shown."),
    ] = False,
    backend: BackendOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Replay a run file written by `tutor trace --output` (no Redis needed).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Step through a lesson, running every command for real.

    In a terminal: Enter or → next, b or ← back, r restart, a number and Enter to jump, ? help,
    q quit. Piped, or with --auto, it shows every step in turn. With --predict you guess each
    result first (one answer a line when piped). With --from FILE it replays a traced run.
    """
    if replay is not None:
        if lesson is not None:
            raise Exit(EXIT_BAD_INPUT, "give a lesson or --from FILE, not both")
        _replay(replay, plain)
        return
    if lesson is None:
        raise Exit(EXIT_BAD_INPUT, "which lesson? `tutor list` shows them (or use --from FILE)")
    found = find_lesson(lesson, lessons_dir or ())

    from redisqueue_tutor.modes.scenario import open_run
    from redisqueue_tutor.modes.step import play_auto, play_interactive, play_through
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import stdin_is_interactive
    from redisqueue_tutor.screens.keys import terminal_keys

    console = make_console(plain=plain)
    look = Look(plain)
    opening = lesson_opening(found, look, lessons_dir)
    # Leaving the block, also on Ctrl-C, joins the listener threads and removes the run's keys.
    with (
        _steps_kept(found, plain) as (seen, reporter),
        running(backend) as chosen,
        open_run(found, chosen) as run,
    ):
        where = chosen.describe()
        if predict:
            from redisqueue_tutor.modes.predict import play_predict
            from redisqueue_tutor.modes.quiz import answers_for

            answers = answers_for(
                console,
                look,
                interactive=stdin_is_interactive(),
                read_key=key_reader(),
                stream=sys.stdin,
            )
            play_predict(run, console, look, where, answers, seen=seen)
        elif stdin_is_interactive():
            with terminal_keys() as keys:
                if auto:
                    play_auto(
                        run, console, keys, look, where, delay=delay, seen=seen, opening=opening
                    )
                else:
                    polls = class_polls(reporter)
                    try:
                        play_interactive(
                            run, console, keys, look, where, seen=seen, opening=opening,
                            glossary=lesson_glossary(found.id, look, lessons_dir),
                            interruption=polls,
                        )  # fmt: skip
                    finally:
                        if polls is not None:
                            polls.stop()
        else:
            play_through(
                run,
                console,
                look,
                where,
                delay=delay if auto else 0.0,
                seen=seen,
                opening=opening,
            )


@contextmanager
def _steps_kept(lesson: Lesson, plain: bool) -> Iterator[tuple[set[int], Reporter | None]]:
    """The steps the learner sees: saved as progress at the end, whatever happened (progress
    never stops a lesson), and told to the class they joined as each is shown."""
    reporter = class_reporter()
    seen: set[int] = set()
    if reporter is not None:
        from redisqueue_tutor.classroom.student import ReportedSteps

        seen = ReportedSteps(reporter, lesson.id, len(lesson.steps))
    try:
        yield seen, reporter
    finally:
        from redisqueue_tutor.progress import save_steps_seen

        warning = save_steps_seen(lesson.id, seen, len(lesson.steps))
        if warning:
            make_console(stderr=True, plain=plain).print(
                f"Warning: {warning}", markup=False, soft_wrap=True
            )
        problem = reporter.close() if reporter else ""
        if problem:
            make_console(stderr=True, plain=plain).print(
                f"Class: {problem}", markup=False, soft_wrap=True
            )


def lesson_opening(lesson: Lesson, look: Look, lessons_dir: list[Path] | None) -> Opening:
    """The concept card a lesson opens on, and the line it ends on (its quiz, the next lesson)."""
    from redisqueue_tutor.lessons.course import load_course, what_next
    from redisqueue_tutor.modes.step import Opening
    from redisqueue_tutor.screens.step import opening_card

    try:
        course = load_course(lessons_dir or ())
        next_hint = what_next(lesson.id, course, list(discover(lessons_dir or ())))
    except LessonError:
        next_hint = ""
    return Opening(card=lambda console: opening_card(lesson, look, console), next_hint=next_hint)


def lesson_glossary(
    lesson_id: str, look: Look, lessons_dir: list[Path] | None
) -> Callable[[Console], RenderableType] | None:
    """The glossary screen of a lesson (g): the words it uses, as many as the terminal holds."""
    from redisqueue_tutor.lessons.course import load_course

    try:
        terms = load_course(lessons_dir or ()).glossary
    except LessonError:
        return None
    if not terms:
        return None

    def screen(console: Console) -> RenderableType:
        from rich.console import Group
        from rich.text import Text

        from redisqueue_tutor.screens.console import glossary_table
        from redisqueue_tutor.screens.frame import fit_renderable

        own = [t for t in terms if lesson_id in t.lessons]
        rest = [t for t in terms if lesson_id not in t.lessons]
        note = Text("tutor glossary lists every word. Any key goes back.", style="dim")
        for count in range(len(own) + len(rest), 0, -1):
            shown = (own + rest)[:count]
            parts = fit_renderable([glossary_table(shown, look), note], console, keep=0)
            if len(parts) == 2:
                return Group(*parts)
        return note

    return screen


def _replay(path: Path, plain: bool) -> None:
    from redisqueue_tutor.cli.trace_commands import show_run
    from redisqueue_tutor.run.runfile import RunFileError, read_run

    try:
        run = read_run(path)
    except RunFileError as exc:
        raise Exit(EXIT_BAD_INPUT, str(exc)) from None
    show_run(run, plain=plain, step=True)


@command(AUTHOR)
@friendly
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Lesson files or folders (default: ./lessons if it exists, else the installed"
            " lessons).",
            show_default=False,
        ),
    ] = None,
    backend: BackendOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
) -> None:
    """Validate lesson files AND run them, failing where Redis disagrees with what they claim.

    Without PATH it checks the lessons of the folder you work in (./lessons) when there is one,
    else the lessons installed with the tutor, and says which folder it checked. Lessons in
    --lessons-dir folders replace those of the same id.
    """
    from redisqueue_tutor.lessons.check import check_paths
    from redisqueue_tutor.modes.scenario import run_whole

    console = make_console(plain=plain)
    files, where = _lesson_files(paths, lessons_dir or ())
    console.print(
        f"Checking {counted(len(files), 'lesson file')} {where}", markup=False, soft_wrap=True
    )
    failed = 0
    ok_mark, bad_mark = ("ok", "FAIL") if plain else ("✔", "✘")
    courses = [f for f in files if f.name == COURSE_FILE]
    files = [f for f in files if f.name != COURSE_FILE]
    for path in courses:
        from redisqueue_tutor.lessons.course import check_course

        known = [f.stem for f in files] + list(discover(lessons_dir or ()))
        try:
            course, problems = check_course(path, known)
        except LessonError as exc:
            failed += 1
            console.print(f"[red]{bad_mark}[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            continue
        if problems:
            failed += 1
            console.print(
                f"[red]{bad_mark}[/] {escape(str(path))}: {escape('; '.join(problems))}",
                soft_wrap=True,
            )
        else:
            console.print(
                f"[green]{ok_mark}[/] course: {counted(len(course.order), 'lesson')} in teaching"
                f" order, {counted(len(course.glossary), 'word')} in the glossary ({escape(str(path))})",
                soft_wrap=True,
            )
    for result in check_paths(files, backend, run_whole):
        if result.error:
            failed += 1
            console.print(f"[red]{bad_mark}[/] {escape(result.error)}", soft_wrap=True)
        elif result.mismatches:
            failed += 1
            console.print(
                f"[red]{bad_mark}[/] {escape(str(result.path))}:"
                f" {counted(len(result.mismatches), 'claim')} wrong",
                soft_wrap=True,
            )
            for mismatch in result.mismatches:
                console.print(f"    {mismatch}", soft_wrap=True, markup=False)
        else:
            console.print(
                f"[green]{ok_mark}[/] {result.lesson_id}: {counted(result.claims, 'claim')}"
                f" proven ({escape(str(result.path))})",
                soft_wrap=True,
            )
    console.print(f"{len(files) + len(courses) - failed} passed, {failed} failed")
    if failed:
        raise Exit(EXIT_FAILED)


def _lesson_files(
    paths: list[Path] | None, extra: list[Path] | tuple[()]
) -> tuple[list[Path], str]:
    """The files to check, and where they came from, as the output names it."""
    if paths:
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(path.glob(f"*{LESSON_SUFFIX}")))  # course.toml too: checked
            elif path.exists():
                files.append(path)
            else:
                raise Exit(EXIT_BAD_INPUT, f"{path}: no such file or folder")
        return files, "in " + joined(str(p) for p in paths)
    # An author runs `tutor check` in the project they write lessons in: check those, not the
    # copy installed with the tutor.
    here = Path("lessons")
    if here.is_dir():
        folders, where = [here], "in ./lessons"
    else:
        folders, where = (
            [builtin_lessons_dir()],
            f"installed with the tutor ({builtin_lessons_dir()})",
        )
    others = [folder for folder, _builtin in lesson_dirs(extra)[1:]]
    for folder in others:
        if not folder.is_dir():
            raise Exit(EXIT_BAD_INPUT, f"{folder}: lessons folder does not exist")
    if others:
        where += " and in " + joined(str(folder) for folder in others)
    found: dict[str, Path] = {}
    for folder in [*folders, *others]:  # a later folder's lesson replaces one of the same id
        for path in sorted(folder.glob(f"*{LESSON_SUFFIX}")):
            found[path.stem if path.name != COURSE_FILE else f"~{folder}"] = path
    return [found[lesson_id] for lesson_id in sorted(found)], where
