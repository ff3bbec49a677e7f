"""The room as the teacher sees it: every student's place and answers, folded from the events.

A Room is built from nothing but the class's streams, so any teacher's tutor (the dashboard,
`status`, `report`) sees the same room, and a dashboard that restarts reads it again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redisqueue_tutor.classroom.events import BadEvent, Event, decode

IDLE_SECONDS = 120  # a student silent this long shows as idle
OPENED = "opened"  # the events stream's first entry, made by the teacher at `open`
Entry = tuple[str, dict[str, str]]


def as_entries(reply: Any) -> list[Entry]:
    """XRANGE's entries (decoded replies), typed; XREAD's too, in either protocol's shape."""
    if isinstance(reply, dict):  # XREAD on RESP3: {stream: entries}
        return [e for entries in reply.values() for e in as_entries(entries)]
    found: list[Entry] = []
    for item in reply or []:
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
            if isinstance(item[1], dict):
                found.append((item[0], {str(k): str(v) for k, v in item[1].items()}))
            elif isinstance(item[1], list):  # XREAD on RESP2: [stream, entries]
                found.extend(as_entries(item[1]))
    return found


@dataclass(frozen=True)
class Answer:
    lesson: str
    question: str
    correct: bool
    misconception: str
    source: str  # "quiz" or "poll"


@dataclass
class Student:
    member: str
    name: str
    joined: float
    last: float
    lesson: str = ""
    step: int = 0
    total: int = 0
    seq: int = 0  # the highest event number counted
    left: bool = False
    scores: dict[str, tuple[int, int]] = field(default_factory=dict)  # lesson: (score, of)
    answers: list[Answer] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(a.correct for a in self.answers)


@dataclass
class Poll:
    """A question the teacher put to the room, and the room's votes (the last vote counts)."""

    id: str
    lesson: str
    question: str
    prompt: str
    options: list[str]
    asked: float
    answer: int | None = None  # known to the teacher's side (from `polls`), shown once revealed
    misconceptions: list[str] = field(default_factory=list)
    explanation: str = ""
    revealed: bool = False
    revealed_id: str = ""  # the board entry that showed the answer
    votes: dict[str, int] = field(default_factory=dict)  # member: option

    def histogram(self) -> list[int]:
        counts = Counter(self.votes.values())
        return [counts.get(i, 0) for i in range(len(self.options))]

    def leading_misconception(self) -> tuple[str, int]:
        """The misconception most of the room voted for, and how many did; ("", 0) if none."""
        counts = Counter(
            self.misconceptions[choice]
            for choice in self.votes.values()
            if choice != self.answer
            and choice < len(self.misconceptions)
            and self.misconceptions[choice]
        )
        if not counts:
            return "", 0
        return counts.most_common(1)[0]


@dataclass
class Exercise:
    """The room is the queue: a live exercise, its tasks and who took, finished or heard them.

    `mode` is rpop (BRPOP: a task to one student, gone if that student's laptop closes), lmove
    (BLMOVE into the student's own working list: it waits there to be recovered) or pubsub
    (every student hears every message)."""

    id: str
    mode: str
    tasks: int
    started: str  # the board entry
    takers: dict[str, list[str]] = field(default_factory=dict)  # task: members who took it
    taken_at: dict[str, float] = field(default_factory=dict)  # task: when (server clock)
    done: dict[str, str] = field(default_factory=dict)  # task: member
    heard: dict[str, set[str]] = field(default_factory=dict)  # member: messages heard
    recovered: Counter[str] = field(default_factory=Counter)  # task: times put back

    def owns(self, task: str) -> bool:
        return task.startswith(self.id + ":")

    def twice(self) -> list[str]:
        # A recovered task taken again is the point of LMOVE, not a task given out twice.
        return sorted(
            t for t, members in self.takers.items() if len(members) > self.recovered[t] + 1
        )

    def stuck(self, now: float, after: float) -> list[str]:
        """Tasks taken and not finished for `after` seconds: a laptop closed mid-task."""
        return sorted(
            t
            for t, members in self.takers.items()
            if t not in self.done
            and len(members) > self.recovered[t]  # in someone's hands, not back on the queue
            and now - self.taken_at[t] > after
        )


def task_label(task: str) -> str:
    """task-07 for "3fa1c2:task-07"."""
    return task.partition(":")[2] or task


@dataclass
class Room:
    code: str
    students: dict[str, Student] = field(default_factory=dict)
    polls: dict[str, Poll] = field(default_factory=dict)
    current: str = ""  # the poll being answered
    exercise: Exercise | None = None  # the room exercise, when one was started
    latest: str = ""  # "poll" or "exercise": what the teacher sent last
    last_event: str = "0-0"  # stream id read up to
    last_board: str = "0-0"
    counted: int = 0
    duplicates: int = 0
    ignored: int = 0

    # -- folding ---------------------------------------------------------------------------
    def fold_events(self, entries: list[Entry]) -> int:
        """Count the entries read after `last_event`; returns how many were new events."""
        new = 0
        for entry_id, fields in entries:
            self.last_event = entry_id
            if fields.get("kind") == OPENED and "member" not in fields:
                continue
            try:
                event = decode(fields)
            except BadEvent:
                self.ignored += 1
                continue
            if self._fold(event, entry_id):
                new += 1
        return new

    def _fold(self, event: Event, entry_id: str) -> bool:
        student = self.students.get(event.member)
        if student is None:
            if event.kind != "join":
                self.ignored += 1  # an event before its join: not one a tutor sends
                return False
            arrived = _order(entry_id)[0] / 1000
            student = Student(event.member, event.name, joined=arrived, last=arrived)
            self.students[event.member] = student
        if event.seq <= student.seq:
            self.duplicates += 1
            return False
        student.seq = event.seq
        # When the server took it (the stream id is its clock), not the student's own clock.
        student.last = max(student.last, _order(entry_id)[0] / 1000)
        self.counted += 1
        self._apply(student, event, entry_id)
        return True

    def _apply(self, student: Student, event: Event, entry_id: str) -> None:
        if event.kind == "join":
            student.left = False
        elif event.kind == "leave":
            student.left = True
        elif event.kind == "step":
            student.lesson, student.step, student.total = event.lesson, event.step, event.total
        elif event.kind == "answer":
            student.answers.append(
                Answer(event.lesson, event.question, event.correct, event.misconception, "quiz")
            )
        elif event.kind == "quiz":
            student.scores[event.lesson] = (event.score, event.total)
        elif event.kind in ("took", "done", "heard"):
            self._exercise_event(event, entry_id)
        elif event.kind == "vote":
            poll = self.polls.get(event.question)
            if poll is None or not 0 <= event.choice < len(poll.options):
                self.ignored += 1  # for a poll this side has not read
                return
            # Both streams' ids are the server's clock: a vote that arrived after the answer was
            # shown does not count, whenever the room is read.
            if poll.revealed and _order(entry_id) > _order(poll.revealed_id):
                self.ignored += 1
                return
            poll.votes[event.member] = event.choice

    def _exercise_event(self, event: Event, entry_id: str) -> None:
        exercise = self.exercise
        if exercise is None or not exercise.owns(event.task):
            self.ignored += 1  # another exercise's, or one this side has not read
            return
        if event.kind == "took":
            exercise.takers.setdefault(event.task, []).append(event.member)
            exercise.taken_at[event.task] = _order(entry_id)[0] / 1000
        elif event.kind == "done":
            exercise.done[event.task] = event.member
        else:
            exercise.heard.setdefault(event.member, set()).add(event.task)

    def fold_board(self, entries: list[Entry]) -> None:
        """What the teacher sent: polls and their reveals, exercises and recoveries."""
        for entry_id, fields in entries:
            self.last_board = entry_id
            kind = fields.get("kind")
            if kind == "exercise":
                self.exercise = board_exercise(fields, entry_id)
                self.latest = "exercise" if self.exercise else self.latest
            elif kind == "recovered" and self.exercise is not None:
                self.exercise.recovered.update(fields.get("tasks", "").split())
            poll = board_poll(fields)
            if poll is not None:
                self.polls[poll.id] = poll
                self.current = poll.id
                self.latest = "poll"
            elif fields.get("kind") == "reveal" and fields.get("poll") in self.polls:
                shown = self.polls[fields["poll"]]
                if not shown.revealed:  # the first reveal ends the voting
                    shown.revealed, shown.revealed_id = True, entry_id

    def settle_polls(self) -> None:
        """Give every poll's votes to the right answers (after the key is known)."""
        for student in self.students.values():
            student.answers = [a for a in student.answers if a.source != "poll"]
        for poll in self.polls.values():
            if poll.answer is None or not poll.revealed:  # a projected dashboard keeps the key
                continue
            for member, choice in poll.votes.items():
                voter = self.students.get(member)
                if voter is None:
                    continue
                wrong = choice != poll.answer
                voter.answers.append(
                    Answer(
                        poll.lesson,
                        poll.question,
                        not wrong,
                        poll.misconceptions[choice]
                        if wrong and choice < len(poll.misconceptions)
                        else "",
                        "poll",
                    )
                )

    # -- reading -------------------------------------------------------------------------------
    def roster(self) -> list[Student]:
        """Students in name order, numbers by value (Student 2 before Student 10)."""
        return sorted(self.students.values(), key=lambda s: (_natural(s.name), s.member))

    def poll(self) -> Poll | None:
        return self.polls.get(self.current)


def _natural(name: str) -> list[tuple[int, int | str]]:
    parts = re.split(r"(\d+)", name.casefold())
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p]


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0


def board_exercise(fields: dict[str, str], entry_id: str) -> Exercise | None:
    """The exercise a board entry starts, or None when it is not one."""
    mode, tasks = fields.get("mode", ""), fields.get("tasks", "")
    if mode not in ("rpop", "lmove", "pubsub") or not tasks.isdigit() or not 0 < int(tasks) <= 100:
        return None
    return Exercise(fields.get("exercise", ""), mode, int(tasks), entry_id)


def board_poll(fields: dict[str, str]) -> Poll | None:
    """The poll a board entry announces, or None when it is something else."""
    import json

    if fields.get("kind") != "poll":
        return None
    try:
        options = json.loads(fields.get("options", "[]"))
        asked = float(fields.get("at", "0"))
    except ValueError:
        return None
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        return None
    return Poll(
        id=fields.get("poll", ""),
        lesson=fields.get("lesson", ""),
        question=fields.get("question", ""),
        prompt=fields.get("prompt", ""),
        options=options,
        asked=asked,
    )
