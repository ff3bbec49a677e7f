"""`tutor trace SCRIPT.py` (or `-m MODULE`): run a learner's own redis-py program and show what it did in Redis.

parent.py (in the tutor) starts the program in a child process and builds the run from its
events (builder.py); child.py, tracer.py, connection.py and state.py run inside that child;
processes.py stops whatever the program started when the trace ends.

The tutor's side is imported when first asked for: the program's process imports this package
too, and needs none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redisqueue_tutor.modes.trace.parent import (
        EmbeddedTarget,
        ScriptError,
        TracedProgram,
        TraceOptions,
        check_module,
        check_script,
        is_embedded,
        trace_program,
    )

__all__ = [
    "EmbeddedTarget",
    "ScriptError",
    "TraceOptions",
    "TracedProgram",
    "check_module",
    "check_script",
    "is_embedded",
    "trace_program",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from redisqueue_tutor.modes.trace import parent

        return getattr(parent, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
