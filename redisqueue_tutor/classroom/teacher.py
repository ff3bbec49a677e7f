"""The teacher's side of a class: open it, read the room, put a question to it, close it.

`open` makes a secret (kept in the teacher's data folder, never on the server) and stores only
its SHA-256 under the class's `owner` key; every other teacher command first proves that it holds
the secret. On a shared server an ACL user per class makes that a rule of the server too (README).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import redis

from redisqueue_tutor.classroom.keys import (
    BOARD_MAXLEN,
    CLASS_TTL,
    ClassError,
    ClassKeys,
    checked_code,
    new_code,
)
from redisqueue_tutor.classroom.link import address, class_server
from redisqueue_tutor.classroom.room import OPENED, Entry, Poll, Room, as_entries
from redisqueue_tutor.jsonfile import JsonFileError, load_json
from redisqueue_tutor.lessons.questions import Question
from redisqueue_tutor.progress import ProgressError, data_dir, locked, replace_file
from redisqueue_tutor.run.backend import unlink_matching

ENV_SECRET = "TUTOR_CLASS_SECRET"
FOLDER = "classes"  # in the data folder: one file per class this computer opened
READ_BATCH = 1_000  # stream entries read by one XRANGE


@dataclass(frozen=True)
class TeacherClass:
    code: str
    url: str
    secret: str
    opened: float

    @property
    def keys(self) -> ClassKeys:
        return ClassKeys(self.code)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _folder(base: Path | None) -> Path:
    return (base if base is not None else data_dir()) / FOLDER


def save(teacher: TeacherClass, base: Path | None = None) -> Path:
    folder = _folder(base)
    path = folder / f"{teacher.code}.json"
    with locked(folder, ".lock"):
        replace_file(path, json.dumps(asdict(teacher), indent=2) + "\n")
    return path


def load(code: str, url: str | None = None, base: Path | None = None) -> TeacherClass:
    """The class `code` as this computer opened it, or else from $TUTOR_CLASS_SECRET and `url`."""
    path = _folder(base) / f"{code}.json"
    try:
        data = load_json(path.read_bytes(), max_bytes=100_000, max_depth=2)
        found = TeacherClass(
            code=str(data["code"]),
            url=str(data["url"]),  # where it was opened, whatever the lessons' $TUTOR_REDIS_URL
            secret=str(data["secret"]),
            opened=float(data["opened"]),
        )
    except FileNotFoundError:
        secret = os.environ.get(ENV_SECRET, "").strip()
        if secret and url:
            return TeacherClass(code, url, secret, 0.0)
        raise ClassError(
            f"this computer did not open class {code}; on another computer than the one that"
            f" opened it, set ${ENV_SECRET} and give --redis-url"
        ) from None
    except (OSError, JsonFileError, KeyError, TypeError, ValueError) as exc:
        raise ClassError(f"cannot read {path}: {exc}") from None
    return found


def opened_here(base: Path | None = None) -> list[TeacherClass]:
    """The classes this computer opened, newest first."""
    found = []
    for path in sorted(_folder(base).glob("*.json")):
        try:
            found.append(load(path.stem, base=base))
        except ClassError:
            continue
    return sorted(found, key=lambda t: t.opened, reverse=True)


def forget(code: str, base: Path | None = None) -> None:
    (_folder(base) / f"{code}.json").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------
# On the server


def open_class(url: str, base: Path | None = None, attempts: int = 20) -> TeacherClass:
    """A new class on the server at `url`, with a code nobody else's class holds there."""
    secret = secrets.token_urlsafe(24)
    for _ in range(attempts):
        keys = ClassKeys(new_code())
        with class_server(url, keys) as client:
            # SET NX: of two teachers drawing the same code, one gets it.
            if not client.set(keys.owner, _digest(secret), nx=True, ex=CLASS_TTL):
                continue
            now = time.time()
            with client.pipeline(transaction=True) as pipe:
                pipe.hset(keys.meta, mapping={"opened": f"{now:.3f}", "poll": ""})
                # The teacher makes the keys students write to, with their expiry: a student
                # only adds to them (XADD NOMKSTREAM, HSETNX on an existing hash).
                pipe.xadd(keys.events, {"kind": OPENED, "at": f"{now:.3f}"})
                pipe.hset(keys.names, "~", "")  # a placeholder that makes the hash (and takes "~")
                for name in (keys.meta, keys.events, keys.names):
                    pipe.expire(name, CLASS_TTL)
                pipe.execute()
            teacher = TeacherClass(keys.code, url, secret, now)
            try:
                save(teacher, base)
            except ProgressError:  # no secret kept: nobody could ever close it, so undo it now
                client.unlink(*keys.all)
                raise
        return teacher
    raise ClassError(f"no free class code on {address(url)} after {attempts} tries")


@contextmanager
def teaching(code: str, url: str | None = None, base: Path | None = None) -> Iterator[Session]:
    """The class `code`, its secret proven, and a client of its server."""
    teacher = load(checked_code(code), url, base)
    with class_server(teacher.url, teacher.keys) as client:
        owner = client.get(teacher.keys.owner)
        if owner is None:
            raise ClassError(
                f"class {teacher.code} is closed or has expired on {address(teacher.url)}"
            )
        if not secrets.compare_digest(str(owner), _digest(teacher.secret)):
            raise ClassError(
                f"class {teacher.code} on {address(teacher.url)} is not the one this secret opened"
            )
        session = Session(teacher, client)
        session.renew()
        yield session


class Session:
    """A teacher's commands on an open class."""

    def __init__(self, teacher: TeacherClass, client: redis.Redis) -> None:
        self.teacher = teacher
        self.keys = teacher.keys
        self.client = client

    def renew(self) -> None:
        """Give every key of the class its expiry again: the class lives while it is used."""
        with self.client.pipeline(transaction=False) as pipe:
            for name in self.keys.all:
                pipe.expire(name, CLASS_TTL)
            pipe.execute()

    def read(self, room: Room | None = None) -> Room:
        """The room with every event and board entry since it was last read."""
        room = room if room is not None else Room(self.teacher.code)
        if not self.client.exists(self.keys.owner):
            raise ClassError(f"class {self.teacher.code} was closed or has expired")
        # The board first: a vote is sent after its poll, so the poll is known when it is read.
        known = set(room.polls)
        for entries in self._entries(self.keys.board, room.last_board):
            room.fold_board(entries)
        if set(room.polls) != known or any(p.answer is None for p in room.polls.values()):
            self._keys_of_polls(room)
        for entries in self._entries(self.keys.events, room.last_event):
            room.fold_events(entries)
        room.settle_polls()
        return room

    def _entries(self, stream: str, after: str) -> Iterator[list[Entry]]:
        while True:
            batch = as_entries(self.client.xrange(stream, min=f"({after}", count=READ_BATCH))
            if not batch:
                return
            yield batch
            after = batch[-1][0]
            if len(batch) < READ_BATCH:
                return

    def _keys_of_polls(self, room: Room) -> None:
        stored = self.client.hgetall(self.keys.polls)
        for poll_id, poll in room.polls.items():
            try:
                key = json.loads(stored.get(poll_id, "{}"))
                poll.answer = int(key["answer"])
                poll.misconceptions = [str(m) for m in key["misconceptions"]]
                poll.explanation = str(key.get("explanation", ""))
            except (ValueError, KeyError, TypeError):
                continue

    def ask(self, lesson: str, question: Question) -> Poll:
        """Put `question` to the room: its prompt and options on the board, its key kept aside."""
        poll_id = secrets.token_hex(3)
        now = time.time()
        options = [o.text for o in question.options]
        key = {
            "answer": question.answer_index,
            "misconceptions": [o.misconception for o in question.options],
            "explanation": " ".join(question.solution),
        }
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.polls, poll_id, json.dumps(key))
            pipe.xadd(
                self.keys.board,
                {
                    "kind": "poll",
                    "poll": poll_id,
                    "lesson": lesson,
                    "question": question.id,
                    "prompt": question.prompt,
                    "options": json.dumps(options),
                    "at": f"{now:.3f}",
                },
                maxlen=BOARD_MAXLEN,
                approximate=True,
            )
            pipe.hset(self.keys.meta, "poll", poll_id)
            pipe.execute()
        self.renew()
        return Poll(poll_id, lesson, question.id, question.prompt, options, now)

    def reveal(self, room: Room) -> Poll:
        """Show the current poll's answer and explanation on every screen."""
        poll = room.poll()
        if poll is None:
            raise ClassError("no question has been put to the class yet (`tutor class ask`)")
        if poll.answer is None:
            raise ClassError(f"the answer to poll {poll.id} is not on the server any more")
        if poll.revealed:
            return poll  # shown once: the votes that count end at the first reveal
        revealed = self.client.xadd(
            self.keys.board,
            {
                "kind": "reveal",
                "poll": poll.id,
                "answer": str(poll.answer),
                "explanation": poll.explanation,
                "at": f"{time.time():.3f}",
            },
            maxlen=BOARD_MAXLEN,
            approximate=True,
        )
        poll.revealed, poll.revealed_id = True, str(revealed)
        return poll

    def close(self) -> int:
        """Tell the room the class is over, then remove every key of the class; how many."""
        self.client.xadd(self.keys.board, {"kind": "closed", "at": f"{time.time():.3f}"})
        return unlink_matching(self.client, self.keys.pattern)
