"""A class's code, its keys on the server, and how long they live."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# Short words a teacher can write on a board and a room can type without spelling them out.
WORDS = (
    "ant", "bat", "bee", "cat", "cod", "cow", "crab", "crow", "deer", "dog", "dove", "duck",
    "eel", "elk", "emu", "fox", "frog", "goat", "gull", "hare", "hawk", "hen", "ibis", "jay",
    "kiwi", "koi", "lark", "lion", "lynx", "mole", "moth", "mule", "newt", "owl", "puma", "ram",
    "seal", "slug", "swan", "toad", "tuna", "wasp", "wolf", "wren", "yak", "zebu",
)  # fmt: skip
CODE = re.compile(r"^[a-z]{3,4}-[0-9]{2}$")
CLASS_TTL = 6 * 3600  # seconds a class lives after its last activity (an abandoned class goes)
EVENTS_MAXLEN = 100_000  # events kept: about 20 MB at most, far above a class's day
BOARD_MAXLEN = 1_000  # what the teacher sent the room
NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,24}$")


class ClassError(Exception):
    """A class command that cannot go on, in one line: what happened and what to do."""


def new_code() -> str:
    return f"{secrets.choice(WORDS)}-{secrets.randbelow(90) + 10}"


def checked_code(text: str) -> str:
    code = text.strip().lower()
    if not CODE.match(code):
        raise ClassError(
            f"{text.strip()[:30]!r} is not a class code; a code is a word and two digits, "
            "such as fox-42"
        )
    return code


def checked_name(text: str) -> str:
    name = " ".join(text.split())
    if not NAME.match(name):
        raise ClassError("a name is 1 to 24 printable characters, such as Ana or Ana K.")
    return name


@dataclass(frozen=True)
class ClassKeys:
    """The keys of the class `code`: everything under one namespace with one hash tag."""

    code: str

    @property
    def prefix(self) -> str:
        return f"tutor:class:{{{self.code}}}:"

    @property
    def pattern(self) -> str:
        return self.prefix + "*"  # the prefix holds no glob character: the class's keys only

    @property
    def meta(self) -> str:
        return self.prefix + "meta"

    @property
    def owner(self) -> str:
        return self.prefix + "owner"

    @property
    def names(self) -> str:
        return self.prefix + "names"

    @property
    def events(self) -> str:
        return self.prefix + "events"

    @property
    def board(self) -> str:
        return self.prefix + "board"

    @property
    def polls(self) -> str:
        return self.prefix + "polls"

    @property
    def all(self) -> tuple[str, ...]:
        return (self.meta, self.owner, self.names, self.events, self.board, self.polls)
