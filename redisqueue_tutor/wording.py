"""Counts and lists in English, so the output never says "2 message(s)" or "(step 1, 3)".

Only the few words the tutor prints; a pluralising library would be more than this needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """'1 message', '2 messages', '0 messages'; give `plural` when it is not singular + s."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The word alone, as `counted` would choose it: 'step' or 'steps'."""
    return singular if n == 1 else plural or singular + "s"


def joined(items: Iterable[object], last: str = "and") -> str:
    """'1', '1 and 3', '1, 2 and 3'."""
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def printable(text: str) -> str:
    """`text` fit for one line of a terminal: line breaks, escape sequences and other invisible
    characters written as Python escapes ('\\n', '\\x1b'), as a message quoting a file must."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def format_loc(loc: Sequence[Any]) -> str:
    """Where in a file a value is, as a reader of the file would write it: steps[2].actor."""
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
