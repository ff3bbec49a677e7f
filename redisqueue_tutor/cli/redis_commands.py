"""Commands about the Redis a class uses: `tutor doctor`."""

from __future__ import annotations

from redisqueue_tutor.cli.app import (
    EXIT_BACKEND,
    SERVER,
    BackendOpt,
    Exit,
    PlainOpt,
    command,
    friendly,
)
from redisqueue_tutor.screens.console import make_console


@command(SERVER)
@friendly
def doctor(backend: BackendOpt = None, plain: PlainOpt = False) -> None:
    """Check a backend before class: connect, auth, version, writes in the namespace, and the
    list, stream and pub/sub commands the lessons send.

    Run it with the URL the class will use (or with $TUTOR_REDIS_URL set). It writes only under a
    fresh tutor:{…}: namespace and removes it again.

    Exit status: 0 every check passed; 3 the backend is not ready (the first failed check says
    why, and the checks after it are skipped).
    """
    from redisqueue_tutor.modes.doctor import diagnose

    console = make_console(plain=plain)
    diagnosis = diagnose(backend)
    console.print(f"Checking {diagnosis.backend}", markup=False, soft_wrap=True)
    marks = {True: ("ok", "green"), False: ("FAIL", "red"), None: ("skip", "dim")}
    if not plain:
        marks = {True: ("✔", "green"), False: ("✘", "red"), None: ("-", "dim")}
    width = max(len(check.name) for check in diagnosis.checks)
    for check in diagnosis.checks:
        mark, style = marks[check.ok]
        console.print(f"[{style}]{mark:<4}[/] {check.name:<{width}}  ", end="")
        console.print(check.detail, markup=False, soft_wrap=True)
    if diagnosis.ok:
        console.print("Ready: every lesson can run on this backend.")
    else:
        raise Exit(EXIT_BACKEND, "the backend is not ready (see the first failed check above)")
