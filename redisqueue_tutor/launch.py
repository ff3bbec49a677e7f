"""`tutor`'s entry point: what must happen before the command line is even imported.

`tutor trace` starts the traced program's process first (modes/trace/spawn.py), so that its
imports overlap the tutor's own; everything else goes straight to the command line (cli). The
cyclic collector waits while the imports run (collector.py).
"""

from __future__ import annotations

import sys

from redisqueue_tutor import collector


def main() -> None:
    collector.hold_for_startup()
    collector.skip_last_collection()
    if sys.argv[1:2] == ["trace"]:
        from redisqueue_tutor.modes.trace.spawn import start_early

        start_early()
    from redisqueue_tutor.cli import main as cli_main

    cli_main()
