"""The `tutor` command line: one module of commands per area, all on one Typer app."""

from __future__ import annotations

import sys

import redisqueue_tutor.cli.redis_commands  # noqa: F401  (registers `tutor doctor`)
from redisqueue_tutor.cli import (  # noqa: F401  (register commands)
    class_commands,
    class_teacher_commands,
    course_commands,
    instructor_commands,
    lesson_commands,
    quiz_commands,
    trace_commands,
)
from redisqueue_tutor.cli.app import EXIT_INTERRUPTED, app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
