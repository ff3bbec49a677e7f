"""`tutor trace SCRIPT.py`: run a learner's own redis-py program and show what it did in Redis.

parent.py (in the tutor) starts the program in a child process and builds the run from its
events (builder.py); child.py, tracer.py, connection.py and state.py run inside that child;
processes.py stops whatever the program started when the trace ends.
"""

from __future__ import annotations

from redisqueue_tutor.modes.trace.parent import (
    ScriptError,
    TracedProgram,
    TraceOptions,
    check_script,
    trace_program,
)

__all__ = ["ScriptError", "TraceOptions", "TracedProgram", "check_script", "trace_program"]
