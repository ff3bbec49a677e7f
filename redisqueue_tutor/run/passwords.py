"""Passwords kept out of what the tutor shows and writes, as a URL's password is (backend.redact).

A traced program may send `AUTH`, or `HELLO 3 AUTH user password`; a learner may type them at the
sandbox's prompt. Their arguments would otherwise reach the execution table, a run file, the
sandbox's `history` and a piped transcript word for word. Here each command that carries a password
is masked where its password stands (AUTH, HELLO ... AUTH, MIGRATE ... AUTH/AUTH2, ACL SETUSER's
`>password` rules, CONFIG SET requirepass/masterauth): the same `***` that a masked URL shows.
What Redis is sent is never changed: only what is shown.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

MASK = "***"
_SECRET_SETTINGS = frozenset({"requirepass", "masterauth"})
CARRY_PASSWORDS = frozenset({"AUTH", "HELLO", "MIGRATE", "ACL", "CONFIG"})
# scheme://user:password@host, anywhere in a line of text (a program line naming its URL).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@'\"/]+(?=@)", re.I)


def password_positions(command: Sequence[str | bytes]) -> list[int]:
    """Indexes of the words of a command that are passwords (or their hashes)."""
    if not command or _text(command[0]).upper().split(" ")[0] not in CARRY_PASSWORDS:
        return []
    words = [_text(w) for w in command]
    name = words[0].upper()
    upper = [w.upper() for w in words]
    if name == "AUTH":  # AUTH [username] password; anything longer is masked whole
        return [len(words) - 1] if len(words) in (2, 3) else list(range(1, len(words)))
    if name == "HELLO":
        return [i + 2 for i in range(1, len(words) - 2) if upper[i] == "AUTH"]
    if name == "MIGRATE":
        found = []
        for i, word in enumerate(upper):
            if word == "AUTH" and i + 1 < len(words):
                found.append(i + 1)
            elif word == "AUTH2" and i + 2 < len(words):
                found.append(i + 2)
        return found
    if name == "ACL" and len(words) > 1 and upper[1] == "SETUSER":
        return [i for i in range(3, len(words)) if words[i][:1] in (">", "<", "#", "!")]
    if name == "CONFIG" and len(words) > 1 and upper[1] == "SET":
        return [i + 1 for i in range(2, len(words) - 1, 2) if words[i].lower() in _SECRET_SETTINGS]
    return []


def _text(word: str | bytes) -> str:
    return word.decode("utf-8", "surrogateescape") if isinstance(word, bytes) else word


def masked_command(words: Sequence[Any]) -> tuple[Any, ...]:
    """The command as it may be shown: each password replaced by ***, an ACL rule keeping its
    sign (>*** adds a password). Words that are not UTF-8 stay bytes where they are not masked."""
    positions = password_positions(words)
    if not positions:
        return tuple(words)
    out = list(words)
    for index in positions:
        word = _text(words[index])
        out[index] = (word[0] + MASK) if words[0].upper() == "ACL" else MASK
    return tuple(out)


def passwords_in(words: Sequence[str]) -> list[str]:
    """The passwords a command carries (as the program wrote them), to mask them elsewhere too."""
    found = []
    for index in password_positions(words):
        word = words[index]
        found.append(word[1:] if words[0].upper() == "ACL" else word)
    return [p for p in found if p]


def masked_text(text: str, passwords: Iterable[str] = ()) -> str:
    """A line of text (a program line, a typed line) with each known password masked where it
    stands as a quoted literal ('pw' or "pw", as code writes it), and a URL's password masked."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    for password in passwords:
        for quote in ("'", '"'):
            text = text.replace(f"{quote}{password}{quote}", f"{quote}{MASK}{quote}")
    return text


def masked_line(line: str) -> str:
    """A line typed at the sandbox's prompt, as `history` and a transcript may show it."""
    try:
        words = shlex.split(line)
    except ValueError:
        return masked_text(line)
    if not password_positions(words):
        return masked_text(line)
    return " ".join(
        w if w.endswith(MASK) or _plain(w) else shlex.quote(w) for w in masked_command(words)
    )


def _plain(word: str) -> bool:
    return bool(word) and shlex.quote(word) == word
