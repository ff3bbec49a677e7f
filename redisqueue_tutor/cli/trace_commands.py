"""`tutor trace`: run your own redis-py program and see what it did in Redis, step by step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisqueue_tutor.cli.app import (
    CODE,
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    BackendOpt,
    Exit,
    PlainOpt,
    TutorCommand,
    command,
    friendly,
)
from redisqueue_tutor.screens.console import Look, key_reader, make_console

if TYPE_CHECKING:
    from redisqueue_tutor.lessons.engine import LessonRun

EXIT_TIMEOUT = 124  # as coreutils' timeout: the program was stopped, not finished


class ProgramCommand(TutorCommand):
    """`-m MODULE` ends the tutor's options, as in `python -m MODULE`: every word after it is
    the module's (`-m celery -A proj worker -P solo`), whatever the tutor's options are called.
    A `-m` after the script is the script's own."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, module_ends_options(args))


_TAKE_VALUES = frozenset({"--timeout", "--output", "-o", "--backend", "--redis-url"})


def module_ends_options(args: list[str]) -> list[str]:
    """The words with `--` put after `-m MODULE`, when -m comes before the script."""
    words = list(args)
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--" or not word.startswith("-"):
            break  # the script, or the words already all the program's
        if word in ("-m", "--module"):
            return [*words[: index + 2], "--", *words[index + 2 :]]
        if word.startswith("--module="):
            return [*words[: index + 1], "--", *words[index + 1 :]]
        index += 2 if word in _TAKE_VALUES else 1
    return words


@command(
    CODE,
    cls=ProgramCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@friendly
def trace(
    ctx: typer.Context,
    script: Annotated[
        str | None,
        typer.Argument(
            help="The Python program to run (it uses redis-py).",
            metavar="SCRIPT",
            show_default=False,
        ),
    ] = None,
    module: Annotated[
        str | None,
        typer.Option(
            "--module",
            "-m",
            help="Run a module as the program, as `python -m` does (`-m celery -A proj worker"
            " -P solo`, `-m django`): the words after it are the module's, so the tutor's"
            " options go before it.",
            show_default=False,
        ),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Make time.sleep in the program return at once.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            max=3600.0,
            help="Stop the program after this many seconds (a listen() loop never ends).",
        ),
    ] = 30.0,
    step: Annotated[
        bool, typer.Option("--step", help="Show the run one command at a time, as `tutor step`.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the run to this JSON file; `tutor step --from FILE` replays it.",
            show_default=False,
        ),
    ] = None,
    backend: BackendOpt = None,
    plain: PlainOpt = False,
) -> None:
    """Run your own redis-py program and show what it did in Redis, command by command.

    Every client in it, sync or redis.asyncio, and in every Python process it starts (an RQ or
    Celery worker), connects to one embedded fakeredis (or, with --redis-url, to your server, in
    a namespace removed afterwards), whatever host or URL it names; a process that reaches your
    server around the tutor stops the run. Arguments after the script are passed to it; with
    -m MODULE (as `python -m`), every word after the module is the module's. Exit status: 0 it
    finished, 1 it raised, 124 --timeout stopped it, 2 it could not be run.
    """
    from redisqueue_tutor.modes.trace import ScriptError, check_module, check_script

    if module is not None:
        # After -m, every word is the module's: the first one click took for SCRIPT too.
        args = ([script] if script is not None else []) + list(ctx.args)
        program = Path(module)
    elif script is None:
        raise Exit(EXIT_BAD_INPUT, "give the program to run: `tutor trace SCRIPT` or `-m MODULE`")
    else:
        args, program = list(ctx.args), Path(script)
    try:
        check_module(module) if module is not None else check_script(program)
    except ScriptError as exc:
        raise Exit(EXIT_BAD_INPUT, str(exc)) from None

    from redisqueue_tutor.modes.trace import (
        EmbeddedTarget,
        TracedProgram,
        TraceOptions,
        is_embedded,
    )

    # Long values are folded on the screen; a run file keeps them whole.
    options = TraceOptions(
        timeout=timeout, fast=fast, args=tuple(args), whole=output is not None, module=module
    )
    # The program's process starts first: its imports overlap the tutor's and the backend's.
    with TracedProgram(program, options) as traced:
        if is_embedded(backend):  # the program's process serves it: nothing to open here
            from redisqueue_tutor.run.signals import signals_as_exit

            with signals_as_exit():
                run = traced.run(EmbeddedTarget())
        else:
            from redisqueue_tutor.run.backend import running

            with running(backend) as chosen:
                run = traced.run(chosen)
    if output is not None:
        _write(run, output, plain)
    show_run(run, plain=plain, step=step)
    status = run.outcome.status
    if status == "timeout":
        raise Exit(EXIT_TIMEOUT)
    if status == "refused":
        raise Exit(EXIT_BAD_INPUT, run.outcome.message)
    if status == "error":
        raise Exit(EXIT_FAILED, f"the program raised: {run.outcome.message}")


def _write(run: object, path: Path, plain: bool) -> None:
    from redisqueue_tutor.run.records import size_text
    from redisqueue_tutor.run.runfile import MAX_FILE_BYTES, Run, write_run

    assert isinstance(run, Run)
    try:
        write_run(run, path)
        size = path.stat().st_size
    except OSError as exc:
        raise Exit(EXIT_BAD_INPUT, f"cannot write {path} ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        # The file keeps every value whole (and each step's lists), so long values add up.
        make_console(stderr=True, plain=plain).print(
            f"Warning: {path} is {size_text(size)}, more than the {size_text(MAX_FILE_BYTES)}"
            " that `tutor step --from` reads; it keeps every value whole for your own tools",
            markup=False,
            soft_wrap=True,
        )


def show_run(run: object, *, plain: bool, step: bool) -> None:
    """The run's table (all at once, or a step at a time), then what follows it."""
    from typing import cast

    from redisqueue_tutor.modes.step import play_interactive, play_through
    from redisqueue_tutor.run.runfile import Replay, Run
    from redisqueue_tutor.screens.console import stdin_is_interactive
    from redisqueue_tutor.screens.trace import run_extras, run_screen

    assert isinstance(run, Run)
    console = make_console(plain=plain)
    look = Look(plain)
    if step and run.steps:
        # The stepper plays anything shaped like a lesson run; a Replay is one, without Redis.
        replay = cast("LessonRun", Replay(run))  # the stepper needs only what a Replay has
        if stdin_is_interactive():
            play_interactive(replay, console, key_reader(), look, run.backend)
        else:
            play_through(replay, console, look, run.backend)
    else:
        console.print(run_screen(run, look))
    for part in run_extras(run, look):
        console.print(part)
