"""What a student's tutor tells the class, as stream entries.

Each event names its student (`member`, 8 hex made at `join`) and carries that student's own
running number (`seq`, from 1). A student's tutor sends its events in order and sends again
those it is not sure arrived, so the teacher's side keeps, per student, the highest number
counted and drops anything at or below it: every event is counted once.

The entries come from other people's tutors: decoding checks every field and bounds its length,
and an entry that does not pass is skipped (counted as ignored), never a crash of the dashboard.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

Kind = Literal["join", "step", "answer", "quiz", "vote", "leave", "took", "done", "heard"]
KINDS: tuple[Kind, ...] = (
    "join", "step", "answer", "quiz", "vote", "leave", "took", "done", "heard",
)  # fmt: skip
MEMBER = re.compile(r"^[0-9a-f]{8}$")
SHORT = 100  # characters of an id, a lesson or a name
LONG = 300  # characters of a misconception
MAX_NUMBER = 1_000_000_000


@dataclass(frozen=True)
class Event:
    member: str
    seq: int
    kind: Kind
    at: float  # seconds since the epoch, by the student's clock
    name: str = ""  # join
    lesson: str = ""  # step, answer, quiz, vote
    step: int = 0  # step: the step shown
    total: int = 0  # step: the lesson's steps; quiz: questions answered
    question: str = ""  # answer, vote: the question's id (a vote: the poll's)
    correct: bool = False  # answer
    misconception: str = ""  # answer: what the wrong option reveals
    choice: int = -1  # vote: the option chosen, in the poll's order
    score: int = 0  # quiz
    task: str = ""  # took, done, heard: the room exercise's task or message

    def fields(self) -> dict[str, str]:
        """The stream entry: every field as text, empty ones left out."""
        out: dict[str, str] = {}
        for name, value in asdict(self).items():
            if isinstance(value, bool):
                if value:
                    out[name] = "1"
            elif isinstance(value, float):
                out[name] = f"{value:.3f}"
            elif value not in ("", 0) or name in ("member", "seq", "kind"):
                out[name] = str(value)
        if self.kind == "vote":
            out["choice"] = str(self.choice)
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class BadEvent(ValueError):
    pass


def _text(fields: dict[str, str], name: str, limit: int = SHORT) -> str:
    value = fields.get(name, "")
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadEvent(f"{name} is too long or not printable")
    return value


def _number(fields: dict[str, str], name: str, low: int = 0) -> int:
    value = fields.get(name, str(max(low, 0)))
    if not value.lstrip("-").isdigit() or len(value) > 10:
        raise BadEvent(f"{name} is not a number")
    number = int(value)
    if not low <= number <= MAX_NUMBER:
        raise BadEvent(f"{name} is out of range")
    return number


def decode(fields: dict[str, str]) -> Event:
    """The event of one stream entry; BadEvent when an entry is not one a tutor sends."""
    member = fields.get("member", "")
    if not MEMBER.match(member):
        raise BadEvent("no student")
    kind = fields.get("kind", "")
    if kind not in KINDS:
        raise BadEvent(f"unknown kind {kind[:20]!r}")
    try:
        at = float(fields.get("at", "0"))
    except ValueError:
        raise BadEvent("at is not a time") from None
    if not 0 <= at < 1e11:
        raise BadEvent("at is out of range")
    return Event(
        member=member,
        seq=_number(fields, "seq", low=1),
        kind=kind,
        at=at,
        name=_text(fields, "name"),
        lesson=_text(fields, "lesson"),
        step=_number(fields, "step"),
        total=_number(fields, "total"),
        question=_text(fields, "question"),
        correct=fields.get("correct") == "1",
        misconception=_text(fields, "misconception", LONG),
        choice=_number(fields, "choice", low=-1),
        score=_number(fields, "score"),
        task=_text(fields, "task"),
    )


def from_json(data: Any) -> Event:
    """An event kept in a student's outbox file (written by this tutor; checked all the same)."""
    if not isinstance(data, dict):
        raise BadEvent("not an object")
    return decode({k: _as_field(v) for k, v in data.items() if isinstance(k, str)})


def _as_field(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
