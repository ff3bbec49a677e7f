"""`tutor class ...`, the teacher's commands on an open class: polls, the room exercise, the
report, and the end of the class. (The class itself, joining and watching: class_commands.py.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from redisqueue_tutor.cli.app import (
    EXIT_BAD_INPUT,
    Exit,
    LessonsDir,
    PlainOpt,
    TutorCommand,
    confirm,
    friendly,
)
from redisqueue_tutor.cli.class_commands import (
    ClassOpt,
    CodeArg,
    UrlOpt,
    class_app,
    teacher_code,
)
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.screens.console import make_console


@class_app.command("ask", cls=TutorCommand)
@friendly
def ask(
    lesson: Annotated[
        str, typer.Argument(help="The lesson the question is from.", show_default=False)
    ],
    question: Annotated[
        str,
        typer.Argument(
            help="The question's id (its `id` in the lesson file; a wrong one lists them).",
            show_default=False,
        ),
    ],
    code: ClassOpt = None,
    lessons_dir: LessonsDir = None,
    plain: PlainOpt = False,
    backend: UrlOpt = None,
) -> None:
    """Put one of a lesson's quiz questions to the class: it appears on every joined student's
    screen, and their answers on your dashboard."""
    from redisqueue_tutor.classroom.teacher import teaching

    found = find_lesson(lesson, lessons_dir or ())
    by_id = {q.id: q for q in found.questions}
    if question not in by_id:
        ids = ", ".join(sorted(by_id)) or "none"
        raise Exit(
            EXIT_BAD_INPUT, f"lesson {found.id} has no question {question!r} (it has: {ids})"
        )
    class_code = teacher_code(code)
    with teaching(class_code, backend) as session:
        poll = session.ask(found.id, by_id[question])
    make_console(plain=plain).print(
        f"Asked class {class_code}: {poll.prompt}", markup=False, soft_wrap=True
    )


@class_app.command("reveal", cls=TutorCommand)
@friendly
def reveal(
    code: ClassOpt = None,
    plain: PlainOpt = False,
    backend: UrlOpt = None,
) -> None:
    """Show the answer to the question put to the class, and its explanation, on every screen."""
    from redisqueue_tutor.classroom.teacher import teaching
    from redisqueue_tutor.lessons.questions import LETTERS

    with teaching(teacher_code(code), backend) as session:
        poll = session.reveal(session.read())
    assert poll.answer is not None
    counts = poll.histogram()
    make_console(plain=plain).print(
        f"The answer is {LETTERS[poll.answer]}: {counts[poll.answer]} of {len(poll.votes)} answered it.",
        markup=False,
        soft_wrap=True,
    )


@class_app.command("exercise", cls=TutorCommand)
@friendly
def exercise(
    mode: Annotated[
        str,
        typer.Argument(
            help="rpop: BRPOP, each task to one student, lost with a closed laptop; lmove: BLMOVE"
            " into each student's working list, recoverable; pubsub: every student hears every"
            " message.",
            show_default=False,
        ),
    ],
    tasks: Annotated[
        int, typer.Option("--tasks", min=1, max=100, help="How many tasks or messages.")
    ] = 20,
    code: ClassOpt = None,
    backend: UrlOpt = None,
    plain: PlainOpt = False,
) -> None:
    """The room is the queue: every joined student's class screen becomes a worker on the
    class's list, and you push the tasks (or publish the messages).

    Every screen then shows who got which task, that none went to two students, and what
    happens to a task whose student presses x (closes the laptop) mid-task: with rpop it is
    gone, with lmove it waits in their working list until you recover it (v on the dashboard,
    or `tutor class recover`). With pubsub every student hears every message.
    """
    import time

    from redisqueue_tutor.classroom import exercise as room_exercise
    from redisqueue_tutor.classroom.teacher import teaching

    console = make_console(plain=plain)
    with teaching(teacher_code(code), backend) as session:
        started = room_exercise.start(session, mode, tasks)
        time.sleep(room_exercise.WAIT + 1)  # every class screen reads the board once a second
        reached = room_exercise.send(session, started)
        where = room_exercise.tasks_key(session.keys).removeprefix(session.keys.prefix)
    if mode == "pubsub":
        console.print(
            f"Published {tasks} messages; each reached {min(reached)} to {max(reached)}"
            " students (PUBLISH's reply).",
            markup=False,
        )
    else:
        console.print(
            f"Pushed {tasks} tasks onto {where}; the dashboard shows who takes each.",
            markup=False,
        )


@class_app.command("recover", cls=TutorCommand)
@friendly
def recover(code: ClassOpt = None, backend: UrlOpt = None, plain: PlainOpt = False) -> None:
    """Put back on the queue the tasks of the lmove exercise that wait in the working list of a
    student who stopped mid-task."""
    import time

    from redisqueue_tutor.classroom import exercise as room_exercise
    from redisqueue_tutor.classroom.teacher import teaching

    with teaching(teacher_code(code), backend) as session:
        moved = room_exercise.recover(session, session.read(), time.time())
    make_console(plain=plain).print(
        f"Recovered {len(moved)} task{'s' if len(moved) != 1 else ''}"
        + (f": {', '.join(t.partition(':')[2] for t in moved)}." if moved else "."),
        markup=False,
    )


@class_app.command("report", cls=TutorCommand)
@friendly
def report(
    code: CodeArg = None,
    format: Annotated[str, typer.Option("--format", help="md or csv.")] = "md",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of the screen.", show_default=False
        ),
    ] = None,
    backend: UrlOpt = None,
) -> None:
    """Write the class's results: per student and per question, right or wrong and the
    misconception, as Markdown or CSV."""
    from redisqueue_tutor.classroom.report import as_csv, as_markdown
    from redisqueue_tutor.classroom.teacher import teaching

    if format not in ("md", "csv"):
        raise Exit(EXIT_BAD_INPUT, f"--format {format!r}: use md or csv")
    with teaching(teacher_code(code), backend) as session:
        room = session.read()
    text = as_markdown(room) if format == "md" else as_csv(room)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Exit(EXIT_BAD_INPUT, f"cannot write {output}: {exc.strerror or exc}") from None
    make_console(stderr=True).print(f"Wrote {output}.", markup=False)


@class_app.command("close", cls=TutorCommand)
@friendly
def close(
    code: CodeArg = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    plain: PlainOpt = False,
    backend: UrlOpt = None,
) -> None:
    """End a class: every key it created is removed from the server (take the report first)."""
    from redisqueue_tutor.classroom.teacher import forget, teaching

    class_code = teacher_code(code)
    console = make_console(plain=plain)
    with teaching(class_code, backend) as session:
        room = session.read()
        many = len(room.students)
        if not yes and not confirm(
            console,
            f"Close class {class_code} and remove its {many} student{'s' if many != 1 else ''}'"
            " results from the server? [y/N] ",
        ):
            raise Exit(EXIT_BAD_INPUT, "nothing was closed")
        removed = session.close()
    forget(class_code)
    console.print(f"Closed class {class_code}: {removed} keys removed.", markup=False)
