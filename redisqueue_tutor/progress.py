"""The learner's saved progress: steps seen, best quiz score and missed questions, per lesson.

One JSON file in the user's data folder (platformdirs; $TUTOR_DATA_DIR overrides it). Every save
is a read-modify-write under a lock file, written to a temporary file and moved into place with
os.replace, so two tutors saving at once both keep their changes and a crash never leaves half a
file. A file that cannot be read is set aside (renamed, never deleted) with a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import reprlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from redisqueue_tutor.jsonfile import load_json
from redisqueue_tutor.wording import printable

ENV_DATA_DIR = "TUTOR_DATA_DIR"
APP_NAME = "redisqueue-tutor"
FILE_NAME = "progress.json"
CLASS_FILE = "class.json"  # the class a learner joined (classroom/student.py)
LOCK_NAME = "progress.lock"
FORMAT = 1
LOCK_TIMEOUT = 10.0  # seconds; a save holds the lock for milliseconds


class ProgressError(Exception):
    """Progress could not be read or saved; the message says where and why, in one line."""


# Bounds far above any real course, so that a damaged or hostile file is refused (and set aside)
# instead of crashing arithmetic or drawing for ever: a 400-digit score cannot be divided.
MAX_FILE_BYTES = 10_000_000  # a real file is a few kB
MAX_STEPS = 10_000  # steps of one lesson (a lesson file has at most 1,000)
MAX_QUESTIONS = 10_000  # quiz size, and missed questions remembered per lesson
MAX_QUIZZES = 1_000_000_000
MAX_LESSONS = 1_000
MAX_DEPTH = 8  # the file's own structure is 4 deep
Count = Annotated[int, Field(strict=True, ge=0)]


class LessonProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    steps_seen: tuple[Annotated[int, Field(strict=True, ge=1, le=MAX_STEPS)], ...] = Field(
        default=(), max_length=MAX_STEPS
    )
    total_steps: Annotated[Count, Field(le=MAX_STEPS)] = 0
    best_score: Annotated[Count, Field(le=MAX_QUESTIONS)] | None = None
    best_total: Annotated[Count, Field(ge=1, le=MAX_QUESTIONS)] | None = None
    missed: tuple[Annotated[str, Field(strict=True, max_length=100)], ...] = Field(
        default=(), max_length=MAX_QUESTIONS
    )
    quizzes: Annotated[Count, Field(le=MAX_QUIZZES)] = 0

    @model_validator(mode="after")
    def _score_within_total(self) -> LessonProgress:
        if (self.best_score is None) != (self.best_total is None):
            raise ValueError("best_score and best_total go together")
        if self.best_score is not None and self.best_total and self.best_score > self.best_total:
            raise ValueError(f"best score {self.best_score}/{self.best_total} is above the total")
        return self

    @property
    def best_fraction(self) -> float:
        if self.best_score is None or not self.best_total:
            return 0.0
        return self.best_score / self.best_total

    def done(self, total_steps: int | None = None) -> float:
        """How far the lesson is done, 0..1: half for the steps seen, half for the best quiz."""
        total = total_steps or self.total_steps
        seen = len([s for s in self.steps_seen if s <= total]) / total if total else 0.0
        return (seen + self.best_fraction) / 2


class Progress(BaseModel):
    # Unknown top-level fields are kept out, not refused: a newer tutor may have added some.
    model_config = ConfigDict(frozen=True)

    format: int = FORMAT
    lessons: dict[Annotated[str, Field(max_length=100)], LessonProgress] = Field(
        default={}, max_length=MAX_LESSONS
    )

    def lesson(self, lesson_id: str) -> LessonProgress:
        return self.lessons.get(lesson_id, LessonProgress())


# --------------------------------------------------------------------------------------------------
# Pure changes: each returns a new Progress


def _replace(progress: Progress, lesson_id: str, entry: LessonProgress | None) -> Progress:
    lessons = dict(progress.lessons)
    if entry is None:
        lessons.pop(lesson_id, None)
    else:
        lessons[lesson_id] = entry
    return progress.model_copy(update={"lessons": lessons})


def with_steps_seen(
    progress: Progress, lesson_id: str, steps: Iterable[int], total: int
) -> Progress:
    entry = progress.lesson(lesson_id)
    seen = tuple(sorted(set(entry.steps_seen) | {s for s in steps if s >= 1}))
    return _replace(
        progress, lesson_id, entry.model_copy(update={"steps_seen": seen, "total_steps": total})
    )


def with_quiz(
    progress: Progress,
    lesson_id: str,
    *,
    right: Iterable[str],
    missed: Iterable[str],
    score: int,
    total: int,
    complete: bool,
) -> Progress:
    """Record a quiz: missed questions are added, ones now answered right are removed.

    Only a complete quiz can set the best score (a 1/1 stopped early is not a best).
    """
    entry = progress.lesson(lesson_id)
    missed_now = set(missed)
    kept = [q for q in entry.missed if q not in set(right) and q not in missed_now]
    new_missed = tuple(kept + sorted(missed_now))
    update: dict[str, object] = {"missed": new_missed, "quizzes": entry.quizzes + 1}
    if complete and total and (entry.best_total is None or score / total > entry.best_fraction):
        update.update(best_score=score, best_total=total)
    return _replace(progress, lesson_id, entry.model_copy(update=update))


def without(progress: Progress, lesson_id: str | None) -> Progress:
    """Progress with one lesson cleared, or everything when lesson_id is None."""
    if lesson_id is None:
        return Progress()
    return _replace(progress, lesson_id, None)


# --------------------------------------------------------------------------------------------------
# The file


def parse_progress(raw: bytes) -> Progress:
    """The progress a file's bytes hold; ValueError, in one line, for every way they cannot be."""
    data = load_json(raw, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("format", FORMAT) != FORMAT:
        raise ValueError(f"format {reprlib.repr(data.get('format'))} is not {FORMAT}")
    try:
        return Progress.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = printable(".".join(str(part) for part in error["loc"]))
        where = where if len(where) <= 60 else where[:60] + "..."
        message = error["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


def data_dir() -> Path:
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Loaded:
    progress: Progress
    warning: str | None = None


class ProgressStore:
    """The progress file in one folder. Every method is safe to run from two tutors at once."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else data_dir()
        self.path = self.folder / FILE_NAME

    def load(self) -> Loaded:
        """The saved progress (empty if none). A corrupt file is set aside under the lock."""
        if not self.path.exists():
            return Loaded(Progress())
        with self._locked():
            return self._read()

    def update(self, change: Callable[[Progress], Progress]) -> Loaded:
        """Apply `change` to the freshly read progress and save it, all under the lock."""
        with self._locked():
            loaded = self._read()
            new = change(loaded.progress)
            self._write(new)
            return Loaded(new, loaded.warning)

    # -- inside the lock ---------------------------------------------------------------------

    def _read(self) -> Loaded:
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return Loaded(Progress())
        except OSError as exc:  # a folder in its place, a file we may not read: set aside too
            return Loaded(Progress(), self._set_aside(f"cannot read it: {exc.strerror or exc}"))
        try:
            return Loaded(parse_progress(raw))
        except ValueError as exc:
            return Loaded(Progress(), self._set_aside(str(exc)))

    def _set_aside(self, reason: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"progress.corrupt-{stamp}.json")
        counter = 1
        while target.exists():
            counter += 1
            target = self.path.with_name(f"progress.corrupt-{stamp}-{counter}.json")
        try:
            self.path.replace(target)
        except OSError as exc:
            raise ProgressError(
                f"{self.path} is unreadable ({reason}) and could not be set aside: {exc}"
            ) from None
        return (
            f"your progress file was unreadable ({reason}); it was kept as {target} "
            "and a fresh one started"
        )

    def _write(self, progress: Progress) -> None:
        text = json.dumps(progress.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        try:
            replace_file(self.path, text)
        except OSError as exc:
            raise ProgressError(f"cannot save progress in {self.folder}: {exc.strerror}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with locked(self.folder, LOCK_NAME):
            yield


def replace_file(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then move it into place: a crash leaves the
    old file or the new one, never half of one. The file is the user's alone (mkstemp's 0600: a
    class's file holds its secret and the server's URL). OSError when it cannot."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


@contextlib.contextmanager
def locked(folder: Path, lock_name: str) -> Iterator[None]:
    """Hold the lock file `lock_name` of `folder` (created if needed) for the block: two tutors
    changing the same file wait for each other. ProgressError, in one line, when it cannot."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / lock_name).open("a+b")  # held across the yield
    except OSError as exc:
        raise ProgressError(f"cannot use {folder}: {exc.strerror or exc}") from None
    try:
        _acquire(lock)
        try:
            yield
        finally:
            _release(lock)
    finally:
        lock.close()


def _acquire(lock: BinaryIO) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            _try_lock(lock)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ProgressError(
                    "another tutor has held this file for 10 s; try again"
                ) from None
            time.sleep(0.01)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(lock: BinaryIO) -> None:
        try:
            msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError from None

    def _release(lock: BinaryIO) -> None:
        lock.seek(0)
        msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(lock: BinaryIO) -> None:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _release(lock: BinaryIO) -> None:
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def save_steps_seen(lesson_id: str, steps: Iterable[int], total: int) -> str | None:
    """For `tutor step`: remember the steps shown. Returns a warning line, or None.

    Progress is a convenience: failing to save it must never stop a lesson, so errors become the
    warning.
    """
    steps = list(steps)
    if not steps:
        return None
    try:
        loaded = ProgressStore().update(lambda p: with_steps_seen(p, lesson_id, steps, total))
    except ProgressError as exc:
        return f"progress not saved: {exc}"
    return loaded.warning
