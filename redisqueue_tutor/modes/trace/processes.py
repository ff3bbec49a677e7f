"""Every process a traced program starts, found and stopped when the trace ends, escaped or not.

The program runs in a process group of its own, and killing the group stops what stays in it. A
process that leaves the group (`setsid()`, `start_new_session=True`, a daemon's double fork) was
not stopped, went on writing into the run's namespace after the tutor had removed it, and was
never reaped. So on Linux, while a program runs, the tutor is a child subreaper
(prctl(PR_SET_CHILD_SUBREAPER)): a descendant whose parent exits is handed to the tutor instead of
to init, and every process of the program stays below the tutor, where /proc shows it. At the end
each one is killed, round after round (one that forks while it is being stopped is found in the
next), and reaped, before the run's namespace is removed.

Elsewhere (macOS has no subreaper) only the process group is stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
STOP_CAP = 5.0  # seconds spent killing and reaping, at most (a process stuck in the kernel)
PROC = Path("/proc")


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


class ProgramProcesses:
    """The traced program's processes: its own and all it starts, escaped or not.

    Enter before the program's process is started, call `started(pid)` once it is, and
    `stop(pid)` once it has ended (or must end). Processes the tutor had before are never
    touched: only the program's process, those below it, and the orphans handed to the tutor
    that were started after it.
    """

    def __init__(self) -> None:
        self._prctl = _prctl()
        self._was_subreaper = False
        self.subreaper = False
        self._me = os.getpid()
        self._before: set[int] = set()
        self._since = 0

    def __enter__(self) -> ProgramProcesses:
        if self._prctl is not None:
            flag = ctypes.c_int(0)
            self._prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
            self._was_subreaper = bool(flag.value)
            done = self._prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            self.subreaper = done == 0 and PROC.is_dir()
        if self.subreaper:
            self._before = {pid for pid, parent, _start in _processes() if parent == self._me}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._prctl is not None and not self._was_subreaper:
            self._prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

    def started(self, root: int) -> None:
        """The program's process is running: whatever it starts starts after it."""
        if self.subreaper:
            found = _process(PROC / str(root))
            self._since = found[2] if found else 0

    def program(self, root: int) -> set[int]:
        """The processes below `root` and the orphans handed to the tutor since it started."""
        table = {pid: (parent, start) for pid, parent, start in _processes()}
        # The program's process only while it is the one that started (not a later one that was
        # given its pid once it had been reaped).
        roots = {root} if table.get(root, (0, -1))[1] == self._since else set()
        roots |= {
            pid
            for pid, (parent, start) in table.items()
            if parent == self._me and pid not in self._before and start >= self._since
        }
        found = set(roots)
        children: dict[int, list[int]] = {}
        for pid, (parent, _start) in table.items():
            children.setdefault(parent, []).append(pid)
        todo = list(found)
        while todo:
            for pid in children.get(todo.pop(), ()):
                if pid not in found:
                    found.add(pid)
                    todo.append(pid)
        return found

    def signal(self, root: int, sig: int) -> None:
        """Send `sig` to the program's process group and to each of its processes."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, sig)
        if self.subreaper:
            for pid in self.program(root) - {root}:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)

    def stop(self, root: int) -> None:
        """Kill every process of the program but `root` (its caller waits for that one) and reap
        those handed to the tutor, until none is left."""
        self.signal(root, signal.SIGKILL)
        if not self.subreaper:
            return
        deadline = time.monotonic() + STOP_CAP
        while time.monotonic() < deadline:
            left = self.program(root) - {root}
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)  # ours once its parent died: reap it
            time.sleep(0.005)


def _processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, start time in clock ticks since boot) of every process /proc shows."""
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            found = _process(entry)
            if found is not None:
                yield found


def _process(entry: Path) -> tuple[int, int, int] | None:
    try:
        stat = entry.joinpath("stat").read_bytes()
    except OSError:
        return None  # it ended meanwhile
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; it ends at the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(entry.name), int(fields[1]), int(fields[19])
