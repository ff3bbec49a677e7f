"""`tutor class ...`: a class on one shared Redis, for the teacher and for each student."""

from __future__ import annotations

import sys
from contextlib import suppress
from typing import Annotated, Any

import typer

from redisqueue_tutor.cli.app import (
    ENV_BACKEND,
    EXIT_BAD_INPUT,
    TEACH,
    Exit,
    PlainOpt,
    TutorCommand,
    TutorGroup,
    app,
    friendly,
    reflowed,
)
from redisqueue_tutor.screens.console import Look, make_console

ENV_CLASS = "TUTOR_CLASS"
ENV_NAME = "TUTOR_NAME"
ENV_CLASS_URL = "TUTOR_CLASS_URL"  # the class's server when it is not the lessons' (an ACL user)

class_app = typer.Typer(
    name="class",
    cls=TutorGroup,
    help=reflowed(
        """Run a class on one shared Redis: the teacher opens it and watches the room, students
        join it and their steps, quizzes and answers show on the teacher's dashboard.

        Teacher: `tutor class open --redis-url URL`, then `ask`, `dashboard`, `report`, `close`.
        Student: `tutor class join CODE --name NAME --redis-url URL` (or $TUTOR_CLASS and
        $TUTOR_REDIS_URL, set once for a lab), then `tutor step` and `tutor quiz` as always."""
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(class_app, name="class", rich_help_panel=TEACH)

CodeArg = Annotated[
    str | None,
    typer.Argument(
        help="The class's code, such as fox-42 (the newest class opened here if left out).",
        show_default=False,
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        envvar=[ENV_CLASS_URL, ENV_BACKEND],
        help="The Redis every student reaches, redis://HOST:6379 or rediss://... (a class cannot"
        " use the embedded one; a teacher's command elsewhere than where the class was opened"
        " needs it, with $TUTOR_CLASS_SECRET).",
        show_default=False,
    ),
]
ClassOpt = Annotated[
    str | None,
    typer.Option(
        "--class", help="The class (the newest opened here if left out).", show_default=False
    ),
]
OnceOpt = Annotated[
    bool, typer.Option("--once", help="Print the dashboard once and exit (also when piped).")
]


def teacher_code(code: str | None, *, or_joined: bool = False) -> str:
    from redisqueue_tutor.classroom.keys import checked_code
    from redisqueue_tutor.classroom.teacher import opened_here

    if code:
        return checked_code(code)
    found = opened_here()
    if not found:
        raise Exit(
            EXIT_BAD_INPUT,
            "you are in no class and this computer opened none (`tutor class join CODE --name"
            " NAME`, or `tutor class open`)"
            if or_joined
            else "which class? this computer opened none (`tutor class open`)",
        )
    return found[0].code


def _join_line(code: str, url: str) -> str:
    from redisqueue_tutor.run.server import redact

    return f"tutor class join {code} --name NAME --redis-url {redact(url)}"


def _interactive() -> bool:
    from redisqueue_tutor.screens.console import stdin_is_interactive

    return stdin_is_interactive()


def _dashboard(
    code: str, url: str | None, once: bool, plain: bool, join: str | None = None
) -> None:
    import time

    from redisqueue_tutor.classroom.teacher import teaching
    from redisqueue_tutor.screens.classroom import DashboardView, dashboard_once

    console = make_console(plain=plain)
    look = Look(plain)
    with teaching(code, url) as session:
        join = join or _join_line(code, session.teacher.url)
        if once or not _interactive():
            from redisqueue_tutor.classroom.exercise import exercise_summary

            room = session.read()
            summary = exercise_summary(session, room, time.time())
            view = DashboardView(room, join, time.time(), summary=summary)
            console.print(dashboard_once(view, look))
            return
        from redisqueue_tutor.modes.classroom import watch
        from redisqueue_tutor.screens.keys import terminal_keys

        with terminal_keys() as keys:
            watch(session, console, keys, look, join)
    if join is None:  # a served class ends with its server (_serve_class says so)
        console.print(f"Class {code} stays open: `tutor class close {code}` ends it.")


@class_app.command("open", cls=TutorCommand)
@friendly
def open_class(
    backend: UrlOpt = None,
    serve: Annotated[
        str | None,
        typer.Option(
            "--serve",
            help="No Redis? Serve the tutor's embedded one at HOST:PORT (0.0.0.0:6380 for the"
            " room's network) for as long as the class is open. See above for what this exposes.",
            show_default=False,
            metavar="HOST:PORT",
        ),
    ] = None,
    once: OnceOpt = False,
    plain: PlainOpt = False,
) -> None:
    """Open a class on a Redis every student reaches: print its code, then show the live dashboard.

    The class's keys live under tutor:class:{CODE}: on that server and expire 6 hours after the
    last activity; its secret stays in your data folder, so only this computer acts as the
    teacher. Piped (or with --once) it prints the code on the first line and the students' join
    command, and leaves the class open.

    With --serve HOST:PORT this tutor serves its embedded fakeredis there instead: anyone who can
    reach that address and has the generated password, which the join command shows, can read
    and change everything on it (the class's events, names and answers; it holds nothing else).
    0.0.0.0 opens it to every network this computer is on; 127.0.0.1 to this computer only. The
    server, and the class with it, ends when you quit the dashboard (piped: Ctrl-C).
    """
    from redisqueue_tutor.classroom import teacher
    from redisqueue_tutor.classroom.link import class_url

    if serve is not None:
        if backend:
            raise Exit(EXIT_BAD_INPUT, "give --serve or --redis-url, not both")
        _serve_class(serve, once=once, plain=plain)
        return
    url = class_url(backend)
    opened = teacher.open_class(url)
    console = make_console(plain=plain)
    if once or not _interactive():
        console.print(opened.code, markup=False)
        console.print(
            f"Students join with: {_join_line(opened.code, url)}", markup=False, soft_wrap=True
        )
        return
    _dashboard(opened.code, None, False, plain)


def _serve_class(address: str, *, once: bool, plain: bool) -> None:
    import threading
    import time

    from redisqueue_tutor.classroom import teacher
    from redisqueue_tutor.classroom.serve import serving
    from redisqueue_tutor.run.signals import Terminated, signals_as_exit

    console = make_console(plain=plain)
    with signals_as_exit(), serving(address) as served:
        opened = teacher.open_class(served.url)
        join = f"tutor class join {opened.code} --name NAME --redis-url {served.shared}"
        try:
            if once or not _interactive():
                console.print(opened.code, markup=False)
                console.print(f"Students join with: {join}", markup=False, soft_wrap=True)
                console.print(f"Serving the class on {served.address} until Ctrl-C.", markup=False)
                sys.stdout.flush()
                with suppress(KeyboardInterrupt, Terminated):
                    threading.Event().wait()
            else:
                with suppress(Terminated):
                    _dashboard(opened.code, None, False, plain, join=join)
        finally:
            # The class ends with its server: students' screens see it closed (they look once a
            # second) before the server goes.
            with suppress(Exception), teacher.teaching(opened.code) as session:
                session.close()
                time.sleep(1.5)
            teacher.forget(opened.code)
    console.print(f"Class {opened.code} ended: the server it was served on stopped.", markup=False)


@class_app.command("dashboard", cls=TutorCommand)
@friendly
def dashboard(
    code: CodeArg = None, backend: UrlOpt = None, once: OnceOpt = False, plain: PlainOpt = False
) -> None:
    """Show the live dashboard of a class you opened: who joined, where each student is, quiz
    scores, and the poll being answered.

    Keys: p puts one of a lesson's questions to the class (←/→ lesson, ↑/↓ question, Enter asks),
    r shows its answer on every screen, m shows the misconception most wrong answers hold before
    that (off by default: on a projector it tells the room which options are wrong), v recovers the tasks of a stopped student in the lmove
    exercise, ←/→ (or n/b) turn the pages of students, q quits (the class stays open). Piped, or
    with --once, it prints one frame and exits.
    """
    _dashboard(teacher_code(code), backend, once, plain)


@class_app.command("status", cls=TutorCommand)
@friendly
def status(code: CodeArg = None, backend: UrlOpt = None, plain: PlainOpt = False) -> None:
    """Say who is in the class and where each student is (a student: your class and what waits to
    be sent)."""
    from redisqueue_tutor.classroom import student
    from redisqueue_tutor.classroom.keys import checked_code
    from redisqueue_tutor.classroom.teacher import opened_here

    member = student.membership()
    if code is None and member is not None:
        _student_status(member, plain)
        return
    if code is not None:
        code = checked_code(code)
        mine = {t.code for t in opened_here()}
        if code not in mine and member is not None and member.code == code:
            _student_status(member, plain)
            return
    _dashboard(teacher_code(code, or_joined=True), backend, True, plain)


def _student_status(member: Any, plain: bool) -> None:
    import redis

    from redisqueue_tutor.classroom import student
    from redisqueue_tutor.classroom.link import BackendError, unreachable

    console = make_console(plain=plain)
    waiting = len(member.pending)
    line = f"You are {member.name} in class {member.code}."
    try:
        if not student.still_open(member):
            student.forget()
            raise Exit(
                EXIT_BAD_INPUT,
                f"class {member.code} is closed or has expired; you are no longer in it",
            )
    except (redis.RedisError, OSError, BackendError) as exc:
        waiting = 0
        line += f" The class is out of reach: {unreachable(exc)}"
        if member.pending:
            line += f" ({len(member.pending)} events wait to be sent)"
    if waiting:
        sender = student.Sender()
        try:
            sender.send_pending()
            line += f" Sent the {waiting} event{'s' if waiting != 1 else ''} that waited."
        except student.ClassClosed as exc:
            raise Exit(EXIT_BAD_INPUT, f"{exc}; you are no longer in it") from None
        except (redis.RedisError, OSError, BackendError) as exc:
            line += f" {waiting} events wait to be sent: {unreachable(exc)}"
        finally:
            sender.close()
    console.print(line, markup=False, soft_wrap=True)


@class_app.command("join", cls=TutorCommand)
@friendly
def join(
    code: Annotated[
        str | None,
        typer.Argument(
            help="The class's code, such as fox-42.", envvar=ENV_CLASS, show_default=False
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", envvar=ENV_NAME, help="Your name in the class.", show_default=False),
    ] = None,
    backend: UrlOpt = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait", help="In a terminal, stay and answer the teacher's polls."
        ),
    ] = True,
    plain: PlainOpt = False,
) -> None:
    """Join a class: your step, quiz and --predict then report your progress to it.

    In a terminal it stays on the class's screen, where the teacher's polls appear (q leaves the
    screen, not the class). The membership is kept in your data folder; what cannot be sent at
    once (Wi-Fi gone, server restarting) waits there and is sent later, and counted once.
    """
    from redisqueue_tutor.classroom import student
    from redisqueue_tutor.classroom.link import class_url

    if not code:
        raise Exit(EXIT_BAD_INPUT, f"which class? give its code (or set ${ENV_CLASS})")
    if not name:
        raise Exit(EXIT_BAD_INPUT, f"your name for the class? --name Ana (or set ${ENV_NAME})")
    member = student.join(code, name, class_url(backend))
    console = make_console(plain=plain)
    console.print(
        f"Joined class {member.code} as {member.name}: your step, quiz and --predict now report"
        " to it.",
        markup=False,
        soft_wrap=True,
    )
    if not wait or not _interactive():
        return
    from redisqueue_tutor.modes.attend import attend
    from redisqueue_tutor.screens.keys import terminal_keys

    reporter = student.Reporter()
    try:
        with terminal_keys() as keys:
            ended = attend(member, console, keys, Look(plain), reporter)
    finally:
        problem = reporter.close()
    if ended == "closed":
        student.forget()
        console.print(f"The teacher closed class {member.code}.")
    elif problem:
        console.print(f"Note: {problem}", markup=False, soft_wrap=True)


@class_app.command("leave", cls=TutorCommand)
@friendly
def leave(plain: PlainOpt = False) -> None:
    """Leave the class you joined: your tutor stops reporting to it."""
    from redisqueue_tutor.classroom import student

    left = student.leave()
    console = make_console(plain=plain)
    if left is None:
        console.print("You are in no class.")
    else:
        console.print(f"Left class {left.code}.", markup=False)
