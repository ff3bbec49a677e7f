"""The traced program's process, started as early as the tutor knows it will trace.

Its interpreter and the tracer's imports (redis, fakeredis: about as long as the tutor's own
start) need nothing from the command line, so `tutor trace` starts the process before it parses
its options (cli.main calls start_early), and the process waits for the run's settings (the
script, its arguments, the backend) on a pipe of its own. A run that never comes (a typo in the
options, an unreachable server) closes that pipe: the process ends without running anything.
Light on purpose: it is imported before the tutor's command line.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from redisqueue_tutor.modes.trace.processes import ProgramProcesses

ENV = "TUTOR_TRACE"  # where the program's process finds its pipes, as JSON


@dataclass
class Spawned:
    """A program process waiting for its settings: its pipes, and the watch on what it starts."""

    child: subprocess.Popen[bytes]
    processes: ProgramProcesses
    read_fd: int  # its events
    settings_fd: int  # where the settings go; -1 once sent or given up


def spawn() -> Spawned:
    processes = ProgramProcesses().__enter__()
    read_fd, write_fd = os.pipe()
    settings_read, settings_fd = os.pipe()
    env = {
        **os.environ,
        ENV: json.dumps({"fd": write_fd, "settings": settings_read}),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONSTARTUP", None)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "redisqueue_tutor.modes.trace.child"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd, settings_read),
            env=env,
            start_new_session=True,  # its own group: Ctrl-C reaches the tutor, which stops it
        )
    except BaseException:
        os.close(read_fd)
        os.close(settings_fd)
        processes.__exit__()
        raise
    finally:
        os.close(write_fd)
        os.close(settings_read)
    processes.started(child.pid)
    return Spawned(child, processes, read_fd, settings_fd)


_EARLY: list[Spawned] = []  # the process started early, until a run takes it


def start_early() -> None:
    """Start the program's process now, for the `tutor trace` about to be parsed."""
    if not _EARLY:
        _EARLY.append(spawn())
        atexit.register(_discard)


def take() -> Spawned:
    """The process started early, or a new one."""
    return _EARLY.pop() if _EARLY else spawn()


def _discard() -> None:
    """At exit: a process started early that no run took ends, having run nothing."""
    if not _EARLY:
        return
    found = _EARLY.pop()
    os.close(found.settings_fd)
    # It has run nothing of the program (it waits for the settings first): stopped at once,
    # so `tutor trace --help` does not wait for its imports.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(found.child.pid, signal.SIGKILL)
    found.child.wait()
    for stream in (found.child.stdout, found.child.stderr):
        if stream is not None:
            stream.close()
    os.close(found.read_fd)
    found.processes.__exit__()
