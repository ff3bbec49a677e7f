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
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_DATA_DIR = "TUTOR_DATA_DIR"
APP_NAME = "redisqueue-tutor"
FILE_NAME = "progress.json"
LOCK_NAME = "progress.lock"
FORMAT = 1
LOCK_TIMEOUT = 10.0  # seconds; a save holds the lock for milliseconds


class ProgressError(Exception):
    """Progress could not be read or saved; the message says where and why, in one line."""


class LessonProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    steps_seen: tuple[Annotated[int, Field(ge=1)], ...] = ()
    total_steps: Annotated[int, Field(ge=0)] = 0
    best_score: Annotated[int, Field(ge=0)] | None = None
    best_total: Annotated[int, Field(ge=1)] | None = None
    missed: tuple[str, ...] = ()
    quizzes: Annotated[int, Field(ge=0)] = 0

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
    lessons: dict[str, LessonProgress] = {}

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
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded(Progress())
        except OSError as exc:
            raise ProgressError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format", FORMAT) != FORMAT:
                raise ValueError(f"format {data.get('format')!r} is not {FORMAT}")
            return Loaded(Progress.model_validate(data))
        except (UnicodeDecodeError, ValueError, ValidationError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Loaded(Progress(), self._set_aside(reason))

    def _set_aside(self, reason: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"progress.corrupt-{stamp}.json")
        counter = 1
        while target.exists():
            counter += 1
            target = self.path.with_name(f"progress.corrupt-{stamp}-{counter}.json")
        try:
            os.replace(self.path, target)
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
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".progress-", suffix=".tmp")
        except OSError as exc:
            raise ProgressError(f"cannot save progress in {self.folder}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise ProgressError(f"cannot save progress in {self.folder}: {exc.strerror}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / LOCK_NAME, "a+b")  # noqa: SIM115 (held across the yield)
        except OSError as exc:
            raise ProgressError(f"cannot use {self.folder}: {exc.strerror or exc}") from None
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
                    "another tutor has been saving progress for 10 s; try again"
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
