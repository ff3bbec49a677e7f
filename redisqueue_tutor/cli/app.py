"""The Typer app, its shared options and the one place where failures become one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from redisqueue_tutor import __version__
from redisqueue_tutor.console import make_console
from redisqueue_tutor.lessons import ENV_LESSONS_DIR, LessonError, UnknownLesson

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130

ENV_BACKEND = "TUTOR_REDIS_URL"

app = typer.Typer(
    name="tutor",
    help="Learn Redis as the message broker behind Django apps, by running it one step at a time.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

LessonsDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--lessons-dir",
        help=f"A folder of your own lesson files (repeatable; also ${ENV_LESSONS_DIR}).",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        "--redis-url",
        envvar=ENV_BACKEND,
        help="'fake' for the embedded fakeredis (default), or a redis:// or rediss:// URL.",
        show_default=False,
    ),
]
LessonArg = Annotated[
    str, typer.Argument(help="Lesson id (see `tutor list`) or a lesson file.", show_default=False)
]
PlainOpt = Annotated[
    bool,
    typer.Option("--plain", help="No colour and no box-drawing characters (see also NO_COLOR)."),
]

F = TypeVar("F", bound=Callable[..., Any])


class Exit(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message


def friendly(func: F) -> F:
    """Turn every expected failure into one clear line and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        err = make_console(stderr=True, plain=bool(kwargs.get("plain")))
        try:
            return func(*args, **kwargs)
        except Exit as exc:
            if exc.message:
                print_error(err, exc.message)
            raise typer.Exit(exc.code) from None
        except (LessonError, UnknownLesson) as exc:
            print_error(err, str(exc).strip("'\""))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a backend failure, explained
            message = _backend_message(exc)
            if message is None:
                raise
            print_error(err, message)
            raise typer.Exit(EXIT_BACKEND) from None

    return wrapper  # type: ignore[return-value]


def print_error(console: Any, message: str) -> None:
    from redisqueue_tutor.console import error_line

    error_line(console, message)


def _backend_message(exc: Exception) -> str | None:
    if "redis" not in sys.modules:
        return None
    from redisqueue_tutor.backend import BackendError, explain

    if isinstance(exc, BackendError):
        return str(exc)
    return explain(exc)


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
        from redisqueue_tutor.cli.course_commands import show_course

        friendly(show_course)()
