"""The Typer app, its shared options and the one place where failures become one-line errors."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
import typer.core

from redisqueue_tutor.keyspace.refused import Refused
from redisqueue_tutor.lessons import ENV_LESSONS_DIR, LessonError, UnknownLesson
from redisqueue_tutor.screens.console import make_console

if TYPE_CHECKING:
    from redisqueue_tutor.classroom.student import Reporter
    from redisqueue_tutor.modes.attend import ClassPolls

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130

ENV_BACKEND = "TUTOR_REDIS_URL"

# The panels of `tutor --help`, one per kind of user, in this order.
LEARN = "Learn"
TEACH = "Teach"
AUTHOR = "Write lessons"
CODE = "Your own code"
SERVER = "Your Redis server"
PANELS = (LEARN, TEACH, AUTHOR, CODE, SERVER)
# Within a panel: what a newcomer needs first.
ORDER = ("step", "quiz", "next", "progress", "glossary", "reset", "present", "export", "sandbox")


def reflowed(text: str) -> str:
    """Each help paragraph on one line: Rich wraps it to the terminal, whatever its width.

    Typer's rich help keeps the line breaks of every paragraph after the first, so a docstring
    wrapped at 100 columns in the source would break early at 140 and raggedly at 60.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
        for p in paragraphs
    )


def _hide_flag_types(params: list[Any]) -> None:
    # Typer 0.29's rich help prints a type for every option, so each flag reads "--plain <bool>"
    # as if it took a value; an empty metavar (Typer's documented knob for that column) hides it.
    for param in params:
        if isinstance(param, typer.core.TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""


class TutorCommand(typer.core.TyperCommand):
    """A command whose help reflows to the terminal and shows no type after a flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _hide_flag_types(params)  # the help option and Typer's completion options too
        return params

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("help"):
            kwargs["help"] = reflowed(kwargs["help"])
        super().__init__(*args, **kwargs)


class TutorGroup(typer.core.TyperGroup):
    """The `tutor` group: commands listed by panel (learn, teach, ...), flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _hide_flag_types(params)
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)

        def place(name: str) -> tuple[int, int]:
            found = getattr(self.commands[name], "rich_help_panel", None)
            panel = PANELS.index(found) if found in PANELS else len(PANELS)
            return panel, ORDER.index(name) if name in ORDER else len(ORDER)

        return sorted(names, key=place)


app = typer.Typer(
    name="tutor",
    cls=TutorGroup,
    help="Learn Redis as the message broker behind Django apps, by running it one step at a time."
    " Run `tutor` alone for the course, your progress and what to do next.",
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
P = ParamSpec("P")
R = TypeVar("R")


def command(
    panel: str, name: str | None = None, *, cls: type[TutorCommand] = TutorCommand, **settings: Any
) -> Callable[[F], F]:
    """Register a `tutor` command in one of the help's panels."""
    return app.command(name, cls=cls, rich_help_panel=panel, **settings)


class Exit(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn every expected failure into one clear line and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
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
        except Refused as exc:  # the gate: a command the tutor will not send
            print_error(err, str(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a failure of the run or of the backend, explained
            code, message = _failure(exc)
            if message is None:
                raise
            print_error(err, message)
            raise typer.Exit(code) from None

    return wrapper


def _failure(exc: Exception) -> tuple[int, str | None]:
    """The exit code and line for a failure a run can end in; no line for a bug (it is raised).

    The modules are looked up, not imported: a command that never loaded them cannot have raised
    their errors, and `tutor --help` stays quick.
    """
    engine = sys.modules.get("redisqueue_tutor.lessons.engine")
    if engine is not None and isinstance(exc, engine.StepRefused):  # the gate, at a step
        return EXIT_BAD_INPUT, str(exc)
    # EngineError lives in lessons.clients: a scenario lesson's run raises it (ScenarioError)
    # without ever loading the engine.
    clients = sys.modules.get("redisqueue_tutor.lessons.clients")
    if clients is not None and isinstance(exc, clients.EngineError):
        return EXIT_BACKEND, f"the lesson could not go on: {exc}"
    progress = sys.modules.get("redisqueue_tutor.progress")
    if progress is not None and isinstance(exc, progress.ProgressError):  # the data folder
        return EXIT_BAD_INPUT, str(exc)
    classroom = sys.modules.get("redisqueue_tutor.classroom.keys")
    if classroom is not None and isinstance(exc, classroom.ClassError):
        return EXIT_BAD_INPUT, str(exc)
    model = sys.modules.get("redisqueue_tutor.lessons.model")
    if model is not None and isinstance(exc, model.TemplateError):
        return EXIT_BAD_INPUT, f"a template of the lesson cannot be filled: {exc}"
    return EXIT_BACKEND, _backend_message(exc)


def print_error(console: Any, message: str) -> None:
    from redisqueue_tutor.screens.console import error_line

    error_line(console, message)


def _backend_message(exc: Exception) -> str | None:
    if "redis" not in sys.modules:
        return None
    from redisqueue_tutor.run.backend import BackendError, explain

    if isinstance(exc, BackendError):
        return str(exc)
    return explain(exc)


def class_reporter() -> Reporter | None:
    """The reporter of the class this learner joined (`tutor class join`), for step, quiz and
    --predict; None, without loading the classroom's modules, when they joined none."""
    from redisqueue_tutor.progress import CLASS_FILE, data_dir

    if not (data_dir() / CLASS_FILE).exists():
        return None
    from redisqueue_tutor.classroom.student import Reporter

    return Reporter.joined()


def class_polls(reporter: Reporter | None) -> ClassPolls | None:
    """The teacher's polls, put to a learner who joined a class in the middle of a lesson or a
    quiz (stop() it after)."""
    if reporter is None:
        return None
    from redisqueue_tutor.classroom.keys import ClassError
    from redisqueue_tutor.classroom.student import membership
    from redisqueue_tutor.modes.attend import ClassPolls

    try:
        member = membership()
    except ClassError:
        return None
    return ClassPolls(member, reporter) if member is not None else None


def confirm(console: Any, prompt: str) -> bool:
    """y or yes confirms; anything else, the end of input or Ctrl-C declines."""
    try:
        answer = console.input(prompt, markup=False)
    except (EOFError, KeyboardInterrupt):
        console.print()
        return False
    return answer.strip().lower() in ("y", "yes")
