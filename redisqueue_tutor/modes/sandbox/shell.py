"""The sandbox's prompt: read a line, run it, show the table; help, history, undo, quit.

In a terminal the standard library's readline gives line editing, ↑/↓ history and Tab completion
of command names: no dependency for a prompt this small. Piped, lines are read from the stream as
they are and echoed, so a transcript reads like a session; the end of input ends it cleanly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import IO, Any

from redisqueue_tutor.keyspace.catalogue import COMMANDS, SHELL_WORDS
from redisqueue_tutor.modes.sandbox.errors import Cancelled, Refused
from redisqueue_tutor.modes.sandbox.session import Sandbox, spec_for
from redisqueue_tutor.run.passwords import masked_line
from redisqueue_tutor.screens.console import Console, Look, error_line
from redisqueue_tutor.screens.keys import LineTooLong, read_line
from redisqueue_tutor.screens.sandbox import help_text, history_text, sandbox_screen, welcome

PROMPT = "sandbox> "


class Ended(enum.Enum):
    QUIT = "quit"
    EOF = "eof"


def completions(text: str, line: str) -> list[str]:
    """Names that complete `text`: a command (or shell word) first, a command after `help`."""
    words = line.split()
    first = not words or (len(words) == 1 and not line.endswith(" "))
    after_help = bool(words) and words[0].lower() == "help"
    if not first and not after_help:
        return []
    upper = text.upper()
    names = [n for n in COMMANDS if n.startswith(upper)]
    if first:
        names += [w.upper() for w in SHELL_WORDS if w.startswith(text.lower())]
    if text and text.islower():
        names = [n.lower() for n in names]
    return sorted(names)


class LineReader:
    """One line at a time: readline's input() in a terminal, the stream's lines otherwise."""

    def __init__(self, console: Console, stream: IO[str], *, interactive: bool) -> None:
        self.console = console
        self.stream = stream
        self.interactive = interactive
        self._input: Callable[[str], str] = input
        if interactive:
            self._setup_readline()

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input(), still usable
            return
        readline.set_completer_delims(" \t")
        readline.set_completer(self._complete)
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")

    def _complete(self, text: str, state: int) -> str | None:
        import readline

        found = completions(text, readline.get_line_buffer())
        return found[state] + " " if state < len(found) else None

    def read(self) -> str | None:
        """The next line, or None at the end of input."""
        if self.interactive:
            try:
                return self._input(PROMPT)
            except EOFError:
                self.console.print()
                return None
        while True:
            try:
                line = read_line(self.stream)
                break
            except LineTooLong as exc:
                self.console.print(f"{PROMPT}({exc}, skipped)", markup=False, highlight=False)
        if line is None:
            return None
        self.console.print(PROMPT + masked_line(line), markup=False, highlight=False)
        return line

    def forget_password(self, line: str) -> None:
        """Keep a line that carries a password out of ↑ (readline's history), as redis-cli
        does; it is still run as typed."""
        if not self.interactive or masked_line(line) == line:
            return
        try:
            import readline
        except ImportError:
            return
        last = readline.get_current_history_length()
        if last and readline.get_history_item(last) == line:
            readline.remove_history_item(last - 1)


def run_shell(
    sandbox: Sandbox,
    console: Console,
    reader: Any,
    look: Look,
    *,
    clear: bool = False,
    err: Console | None = None,
) -> tuple[Ended, int]:
    """The prompt loop; returns how it ended and how many lines were refused."""
    err = err or console
    where = sandbox.backend.describe()
    console.print(welcome(where))
    refused = 0
    while True:
        line = reader.read()
        if line is None:
            return Ended.EOF, refused
        if isinstance(reader, LineReader):
            reader.forget_password(line)
        words = line.split()
        if not words:
            continue
        word = words[0].lower()
        if word in ("quit", "exit") and len(words) == 1:
            return Ended.QUIT, refused
        try:
            if word == "help":
                if len(words) > 2:
                    raise Refused("help takes one command name: help LPUSH")
                if len(words) == 2:
                    spec_for(words[1])  # refused or unknown: says why
                console.print(help_text(look, words[1] if len(words) == 2 else None))
                continue
            if word == "history" and len(words) == 1:
                console.print(history_text(sandbox.history))
                continue
            if word == "undo" and len(words) == 1:
                undone = sandbox.undo()
                _show(sandbox, console, look, where, clear)
                console.print(
                    f"Undone: {undone} (replayed the rest on a fresh namespace)", markup=False
                )
                continue
            sandbox.run(line)
        except Refused as exc:
            refused += 1
            error_line(err, str(exc))
            continue
        except Cancelled as exc:
            # The screen again, so the live view shows what Redis holds after the wait.
            _show(sandbox, console, look, where, clear)
            console.print(f"{str(exc)[0].upper()}{str(exc)[1:]}.", markup=False)
            continue
        _show(sandbox, console, look, where, clear)


def _show(sandbox: Sandbox, console: Console, look: Look, where: str, clear: bool) -> None:
    if clear:
        console.clear()
    console.print(sandbox_screen(sandbox.session, look, sandbox.backend.describe(), fit=clear))
