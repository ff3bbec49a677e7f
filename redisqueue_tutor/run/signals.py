"""SIGTERM and SIGHUP leave through the normal exits, so a run always cleans up after itself."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_EXIT_SIGNALS = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived: leave through the normal exits, so the run cleans up."""


def hold_signals() -> None:
    """Ignore SIGTERM and SIGHUP for a moment (while cleaning up); signals_as_exit restores them."""
    if threading.current_thread() is threading.main_thread():
        for sig in _EXIT_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


@contextmanager
def signals_as_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception while inside (only on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: Any) -> None:
        hold_signals()  # a second signal must not interrupt the cleanup
        raise Terminated(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in _EXIT_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
