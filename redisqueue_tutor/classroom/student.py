"""A student's side of a class: the membership, and the events their tutor reports to it.

`join` writes the membership to the student's data folder (``class.json``), so that their next
`step`, `quiz` and `--predict` report to the class. Every event is first added to the outbox in
that file, under its lock, and only then sent; it leaves the outbox once the server has taken it.
A tutor that cannot reach the server keeps working: the outbox waits for the next send (the next
event, `tutor class status`, or a reconnect), and sends everything it is not sure about in order,
which the teacher's side counts once (events.py).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import redis

from redisqueue_tutor.classroom.events import LONG, MEMBER, BadEvent, Event, Kind, from_json
from redisqueue_tutor.classroom.keys import (
    EVENTS_MAXLEN,
    ClassError,
    ClassKeys,
    checked_code,
    checked_name,
)
from redisqueue_tutor.classroom.link import BackendError, address, class_server, what_failed
from redisqueue_tutor.jsonfile import JsonFileError, load_json
from redisqueue_tutor.progress import CLASS_FILE, ProgressError, data_dir, locked, replace_file

FILE_NAME = CLASS_FILE
LEFT_NAME = "class-left.json"  # the last class left: joining it again under that name is you
LOCK_NAME = "class.lock"
MAX_PENDING = 20_000  # events kept while offline; a whole day of a busy class is a few hundred
SEND_BATCH = 500  # events in one transaction
RETRY_SECONDS = 5.0  # after a failed send, the background sender waits this long


@dataclass(frozen=True)
class Membership:
    code: str
    url: str
    member: str
    name: str
    seq: int = 0  # the number of the last event made
    pending: tuple[Event, ...] = field(default=())

    @property
    def keys(self) -> ClassKeys:
        return ClassKeys(self.code)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "url": self.url,
            "member": self.member,
            "name": self.name,
            "seq": self.seq,
            "pending": [e.to_json() for e in self.pending],
        }


class ClassClosed(ClassError):
    """The class is not on the server any more (closed by the teacher, or expired)."""


def _path(base: Path | None) -> Path:
    return (base if base is not None else data_dir()) / FILE_NAME


def _left_path(base: Path | None) -> Path:
    return _path(base).with_name(LEFT_NAME)


def membership(base: Path | None = None, path: Path | None = None) -> Membership | None:
    """The class this student joined, or None; ClassError if the file cannot be read."""
    path = path or _path(base)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClassError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = load_json(raw, max_bytes=50_000_000, max_depth=4)
        member = str(data["member"])
        if not MEMBER.match(member):
            raise ValueError("no student id")
        return Membership(
            code=checked_code(str(data["code"])),
            url=str(data["url"]),
            member=member,
            name=checked_name(str(data["name"])),
            seq=int(data["seq"]),
            pending=tuple(from_json(e) for e in data["pending"]),
        )
    except (JsonFileError, KeyError, TypeError, ValueError, OverflowError, BadEvent) as exc:
        raise ClassError(
            f"{path} is not a class membership the tutor wrote ({exc}); remove it and join again"
        ) from None


def _save(found: Membership | None, base: Path | None) -> None:
    path = _path(base)
    if found is None:
        path.unlink(missing_ok=True)
        return
    replace_file(path, json.dumps(found.to_json()) + "\n")


def _change(base: Path | None, change: Callable[[Membership | None], Membership | None]) -> None:
    folder = _path(base).parent
    with locked(folder, LOCK_NAME):
        _save(change(membership(base)), base)


def join(code: str, name: str, url: str, base: Path | None = None) -> Membership:
    """Join the class `code` under `name`; its join event is sent before this returns."""
    code, name = checked_code(code), checked_name(name)
    current = membership(base)
    with suppress(ClassError):
        current = current or membership(path=_left_path(base))
    if current and (current.code, current.name.casefold()) == (code, name.casefold()):
        member = current.member  # joining again: the same student, their name already theirs
        taken = False
    else:
        member = secrets.token_hex(4)
        taken = True
    keys = ClassKeys(code)
    with class_server(url, keys) as client:
        if not client.exists(keys.meta):
            raise ClassError(
                f"there is no open class {code} on {address(url)} (closed, expired, or mistyped?)"
            )
        if taken and not client.hsetnx(keys.names, name.casefold(), member):
            raise ClassError(f"the name {name!r} is taken in class {code}; choose another --name")

    def joined(found: Membership | None) -> Membership:
        if found is not None and found.member == member:
            base_found = found
        else:
            base_found = Membership(code, url, member, name)
        return _add(base_found, "join", name=name)

    _change(base, joined)
    sender = Sender(base)
    try:
        sender.send_pending()
    finally:
        sender.close()
    found = membership(base)
    assert found is not None
    return found


def _add(found: Membership, kind: Kind, **fields: Any) -> Membership:
    event = Event(member=found.member, seq=found.seq + 1, kind=kind, at=time.time(), **fields)
    pending = (*found.pending, event)[-MAX_PENDING:]
    return replace(found, seq=event.seq, pending=pending)


def leave(base: Path | None = None) -> Membership | None:
    """Tell the class this student left (if it can be reached) and forget the membership."""
    found = membership(base)
    if found is None:
        return None
    _change(base, lambda f: _add(f, "leave") if f else None)
    sender = Sender(base)
    with suppress(ClassError, redis.RedisError, OSError, BackendError):
        sender.send_pending()
    sender.close()
    with suppress(OSError):
        replace_file(_left_path(base), json.dumps(replace(found, pending=()).to_json()) + "\n")
    _change(base, lambda _f: None)
    return found


class Sender:
    """Sends a student's outbox to the class, in order, and takes out what the server took."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base
        self._client: redis.Redis | None = None
        self._link: Any = None

    def _connect(self, found: Membership) -> redis.Redis:
        if self._client is None:
            link = class_server(found.url, found.keys)
            self._client = link.__enter__()  # BackendError when the server cannot be reached
            self._link = link
        return self._client

    def close(self) -> None:
        if self._link is not None:
            with suppress(redis.RedisError):
                self._link.__exit__(None, None, None)
        self._link = self._client = None

    def send_pending(self) -> int:
        """Send what waits; how many events left the outbox. Raises ClassClosed or RedisError
        (the outbox is kept)."""
        found = membership(self.base)
        if found is None or not found.pending:
            return 0
        try:
            client = self._connect(found)
            for start in range(0, len(found.pending), SEND_BATCH):
                _send(client, found.keys, found.pending[start : start + SEND_BATCH])
        except ClassClosed:
            _change(self.base, lambda f: None if f and f.member == found.member else f)
            raise
        except (redis.RedisError, OSError, BackendError):
            self.close()  # the next send opens a fresh connection
            raise
        last = found.pending[-1].seq

        def sent(current: Membership | None) -> Membership | None:
            if current is None or current.member != found.member:
                return current
            return replace(current, pending=tuple(e for e in current.pending if e.seq > last))

        _change(self.base, sent)
        return len(found.pending)


def _send(client: redis.Redis, keys: ClassKeys, events: tuple[Event, ...]) -> None:
    """XADD the events in one transaction, only while the class is open (WATCH on its meta)."""
    for _attempt in range(5):
        with client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(keys.meta)
                if not pipe.exists(keys.meta):
                    raise ClassClosed(f"class {keys.code} is closed or has expired")
                pipe.multi()
                for event in events:
                    entry: dict[Any, Any] = event.fields()
                    # NOMKSTREAM: the teacher made the stream; a student never creates a key
                    # that could outlive the class (the teacher's side renews the expiry).
                    pipe.xadd(
                        keys.events, entry, maxlen=EVENTS_MAXLEN, approximate=True, nomkstream=True
                    )
                pipe.execute()
                return
            except redis.WatchError:
                continue  # the teacher touched the class meanwhile: try again
    raise redis.ConnectionError(f"class {keys.code} kept changing while events were sent")


class Reporter:
    """What `step`, `quiz` and `--predict` use: report an event, sent in the background.

    `report` writes the event to the outbox at once (nothing is lost if the tutor is killed the
    next moment) and wakes a thread that sends it; a server that cannot be reached is tried again
    later, and `close` gives the last events a short time to leave.
    """

    def __init__(self, base: Path | None = None) -> None:
        self.base = base
        self.problem = ""  # the last failure, for one line at the end
        self._sender = Sender(base)
        self._wake = threading.Event()
        self._stop = False
        self._retry_at = 0.0
        self._closed = False  # the class is over: nothing more to send
        self._thread = threading.Thread(target=self._run, name="tutor-class", daemon=True)
        self._thread.start()

    @classmethod
    def joined(cls, base: Path | None = None) -> Reporter | None:
        """A reporter if this student joined a class (an unreadable membership is None)."""
        try:
            found = membership(base)
        except ClassError:
            return None
        return cls(base) if found is not None else None

    def report(self, kind: Kind, **fields: Any) -> None:
        try:
            _change(self.base, lambda f: _add(f, kind, **fields) if f else None)
        except (ClassError, OSError, ProgressError) as exc:
            self.problem = str(exc)
            return
        self._wake.set()

    def answered(self, lesson: str) -> Callable[[Any], None]:
        """What a quiz calls with each graded answer (an Outcome)."""

        def tell(outcome: Any) -> None:
            self.report(
                "answer",
                lesson=lesson,
                question=outcome.question_id,
                correct=outcome.correct,
                misconception=outcome.misconception[:LONG],
            )

        return tell

    def _run(self) -> None:
        sent = True
        while not self._stop:
            # After a failure, try again every RETRY_SECONDS even if nothing new is reported: an
            # answer must not wait for the next key press once the server is back.
            self._wake.wait(None if sent else RETRY_SECONDS)
            self._wake.clear()
            if self._stop:
                return
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.5))
                self._wake.set()
                continue
            sent = self._try()

    def _try(self) -> bool:
        if self._closed:
            return True
        try:
            self._sender.send_pending()
        except ClassClosed as exc:
            self.problem = f"{exc}; you no longer report to it"
            self._closed = True
            return True
        except (ClassError, redis.RedisError, OSError, BackendError) as exc:
            self.problem = (
                f"the class is out of reach: {what_failed(exc)}; your steps wait to be sent"
            )
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return False
        self.problem = ""
        return True

    def close(self, timeout: float = 1.5) -> str:
        """Stop the thread and try once more; returns a line to show if events still wait."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():  # a send still waits for a server that does not answer
            return (
                "the class did not answer in time; what waits is kept and sent later "
                "(`tutor class status` sends it)"
            )
        if self._retry_at <= time.monotonic():
            self._try()
        self._sender.close()
        return self.problem


class ReportedSteps(set[int]):
    """The steps a learner saw (what `step` saves as progress), each shown step also told to the
    class: the teacher's dashboard follows the learner going forward and back."""

    def __init__(self, reporter: Reporter, lesson: str, total: int) -> None:
        super().__init__()
        self._reporter = reporter
        self._lesson = lesson
        self._total = total
        self._last = 0

    def add(self, number: int) -> None:
        super().add(number)
        if number != self._last:  # a redraw of the same step (a resize) is not news
            self._last = number
            self._reporter.report("step", lesson=self._lesson, step=number, total=self._total)


def forget(base: Path | None = None) -> None:
    """Forget the membership (the class is over)."""
    _change(base, lambda _found: None)


def still_open(found: Membership) -> bool:
    """Whether the class is on its server; BackendError or RedisError when it cannot be asked."""
    with class_server(found.url, found.keys) as client:
        return bool(client.exists(found.keys.meta))
