"""Find, load and validate lesson files.

A lesson is a TOML file (format 1) in the top-level ``lessons/`` folder; the wheel ships that folder
inside the package. Validation is strict: unknown fields are refused, and every error names the file,
the field and, where TOML lets us find it, the line.

This module must stay free of redis and fakeredis imports: ``tutor list`` and ``tutor --help`` use it.
"""

from __future__ import annotations

import os
import re
import reprlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from redisqueue_tutor.wording import format_loc, printable

FORMAT_VERSION = 1
ENV_LESSONS_DIR = "TUTOR_LESSONS_DIR"
LESSON_SUFFIX = ".toml"
COURSE_FILE = "course.toml"  # beside the lessons: their teaching order and the glossary
# The largest packaged lesson is about 20 kB; a file fifty times that is not a lesson, and tomllib
# (pure Python) would take seconds on it.
MAX_FILE_BYTES = 1_000_000

if TYPE_CHECKING:
    from pydantic import ValidationError

    from redisqueue_tutor.lessons.model import Lesson

# --------------------------------------------------------------------------------------------------
# Loading


class LessonError(Exception):
    """A lesson that cannot be used, with a one-line message naming file, field and line."""

    def __init__(self, path: Path | str, message: str, *, field: str = "", line: int | None = None):
        self.path = Path(path)
        self.field = field
        self.line = line
        self.message = message
        where = str(path) + (f":{line}" if line else "")
        # A field name or value quoted from the file may hold a line break or an escape sequence.
        super().__init__(printable(f"{where}: {field + ': ' if field else ''}{message}"))


class UnknownLesson(LookupError):
    def __init__(self, lesson_id: str, known: Iterable[str]) -> None:
        known = sorted(known)
        import difflib

        close = difflib.get_close_matches(lesson_id, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown lesson '{lesson_id}'.{hint} `tutor list` shows the lessons.")


class LessonSource(NamedTuple):
    path: Path
    builtin: bool


def builtin_lessons_dir() -> Path:
    # The wheel carries the top-level lessons/ folder as redisqueue_tutor/lesson_files/.
    packaged = Path(__file__).resolve().parent.parent / "lesson_files"
    if packaged.is_dir():
        return packaged
    # Running from a source checkout (or an editable install): the top-level folder.
    return Path(__file__).resolve().parent.parent.parent / "lessons"


def lesson_dirs(extra: Sequence[Path] = ()) -> list[tuple[Path, bool]]:
    dirs: list[tuple[Path, bool]] = [(builtin_lessons_dir(), True)]
    env = os.environ.get(ENV_LESSONS_DIR, "")
    dirs.extend(
        (Path(part.strip()).expanduser(), False) for part in env.split(os.pathsep) if part.strip()
    )
    dirs.extend((Path(p).expanduser(), False) for p in extra)
    return dirs


def discover(extra: Sequence[Path] = ()) -> dict[str, LessonSource]:
    """Lesson id (taken from the file name) -> file. An author's folder overrides a packaged lesson."""
    found: dict[str, LessonSource] = {}
    for folder, builtin in lesson_dirs(extra):
        if not folder.is_dir():
            if not builtin:
                raise LessonError(folder, "lessons folder does not exist")
            continue
        for path in sorted(folder.glob(f"*{LESSON_SUFFIX}")):
            if path.name == COURSE_FILE:
                continue  # the course's order and glossary, not a lesson
            found[path.stem] = LessonSource(path, builtin)
    return found


def find_lesson(lesson_id: str, extra: Sequence[Path] = ()) -> Lesson:
    path = Path(lesson_id)
    if path.suffix == LESSON_SUFFIX and path.is_file():
        return load_lesson(path)
    sources = discover(extra)
    if lesson_id not in sources:
        raise UnknownLesson(lesson_id, sources)
    return load_lesson(sources[lesson_id].path)


def load_lesson(path: Path) -> Lesson:
    return parse_lesson(read_text(path), path)


def read_text(path: Path) -> str:
    """A lesson or course file's text, refused in one line when it cannot be read or is too big."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise LessonError(
                path,
                f"is larger than {MAX_FILE_BYTES // 1_000_000} MB: not a lesson or course file",
            )
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """A TOML file's text and data; every way it can fail is a LessonError of one line."""
    text = read_text(path)
    return text, _toml(text, path)


def _toml(text: str, path: Path | str) -> dict[str, Any]:
    import tomllib  # only when a file is parsed: `tutor list` mostly reads its cache

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LessonError(
            path, f"not valid TOML: {message}", line=int(match.group(1)) if match else None
        ) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables by recursion, a few frames per level.
        raise LessonError(
            path, "nested too deeply: arrays or tables hundreds of levels inside each other"
        ) from None


def _check_version(data: dict[str, Any], text: str, path: Path | str) -> None:
    version = data.get("format")
    if version != FORMAT_VERSION:
        raise LessonError(
            path,
            f"format {reprlib.repr(version)} is not supported (this tutor reads format"
            f" {FORMAT_VERSION})"
            if version is not None
            else f"missing; add `format = {FORMAT_VERSION}` at the top",
            field="format",
            line=locate(text, ("format",)),
        )


class LessonSummary(NamedTuple):
    """What `tutor list` shows, read with tomllib alone (no model building, so it starts fast).

    Full validation is `tutor check`'s job, and happens anyway before a lesson runs.
    """

    id: str
    title: str
    level: str
    steps: int
    questions: int


ENV_CACHE_DIR = "TUTOR_CACHE_DIR"
_CACHE_NAME = "lesson-summaries.json"


def summarize_all(paths: Sequence[Path]) -> list[LessonSummary | LessonError]:
    """Summaries of many lesson files, in order, through a small cache.

    Parsing TOML is the slow part of `tutor list` (tomllib is pure Python and lessons carry their
    quizzes), so summaries are kept in the user's cache folder keyed by file, size and mtime.
    The cache is best effort: unreadable or unwritable, it is simply not used.
    """
    import json

    cache_file = _cache_dir() / _CACHE_NAME
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cache, dict) or cache.get("version") != _cache_version():
            cache = {}
    except (OSError, ValueError, RecursionError):
        cache = {}
    entries = cache.get("entries", {})
    fresh: dict[str, Any] = {}
    results: list[LessonSummary | LessonError] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as exc:
            results.append(LessonError(path, f"cannot read: {exc.strerror or exc}"))
            continue
        key = str(path.resolve())
        stamp = [stat.st_mtime_ns, stat.st_size]
        cached = entries.get(key)
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            summary = _cached_summary(cached.get("summary"))
            if summary is not None:
                results.append(summary)
                fresh[key] = cached
                continue
        try:
            summary = summarize(path)
        except LessonError as exc:
            results.append(exc)
            continue
        results.append(summary)
        fresh[key] = {"stamp": stamp, "summary": summary._asdict()}
    if fresh != entries:
        _write_cache(cache_file, {"version": _cache_version(), "entries": fresh})
    return results


def _cached_summary(entry: Any) -> LessonSummary | None:
    """A summary from the cache, or None when the entry is not one (the file is then parsed)."""
    try:
        summary = LessonSummary(**entry)
    except TypeError:
        return None
    types = (str, str, str, int, int)
    if all(type(v) is t for v, t in zip(summary, types, strict=True)):
        return summary
    return None


def _cache_dir() -> Path:
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("redisqueue-tutor", appauthor=False))


def _cache_version() -> str:
    from redisqueue_tutor import __version__

    return f"{__version__}/format{FORMAT_VERSION}"


def _write_cache(cache_file: Path, content: dict[str, Any]) -> None:
    import json
    import tempfile

    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=cache_file.parent, delete=False, suffix=".tmp", encoding="utf-8"
        ) as handle:
            json.dump(content, handle)
        Path(handle.name).replace(cache_file)
    except OSError:
        pass  # a cache that cannot be written is not used; nothing else changes


def summarize(path: Path) -> LessonSummary:
    text, data = read_toml(path)
    _check_version(data, text, path)
    fields: dict[str, str] = {}
    for name in ("title", "level"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise LessonError(
                path, "required text is missing", field=name, line=locate(text, (name,))
            )
        fields[name] = value
    steps, questions = data.get("steps", []), data.get("questions", [])
    if not isinstance(steps, list) or not steps:
        raise LessonError(path, "a lesson needs at least one step", field="steps")
    return LessonSummary(
        path.stem,
        fields["title"],
        fields["level"],
        len(steps),
        len(questions) if isinstance(questions, list) else 0,
    )


def parse_lesson(text: str, path: Path | str = "<lesson>") -> Lesson:
    data = _toml(text, path)
    _check_version(data, text, path)
    from pydantic import ValidationError

    from redisqueue_tutor.lessons.model import Lesson

    try:
        lesson = Lesson.model_validate(data)
    except ValidationError as exc:
        raise _lesson_error(path, text, exc) from None
    expected_id = Path(path).stem
    if Path(path).suffix == LESSON_SUFFIX and lesson.id != expected_id:
        raise LessonError(
            path,
            f"{lesson.id!r} must match the file name ({expected_id!r})",
            field="id",
            line=locate(text, ("id",)),
        )
    if lesson.scenario is not None:
        lesson = _with_program(lesson, text, path)
    return lesson


def _with_program(lesson: Lesson, text: str, path: Path | str) -> Lesson:
    """The scenario's program found beside the lesson file, its path made absolute."""
    assert lesson.scenario is not None
    program = (Path(path).parent / lesson.scenario.program).resolve()
    if program.suffix != ".py" or not program.is_file():
        raise LessonError(
            path,
            f"{lesson.scenario.program!r} is not a Python program beside the lesson"
            f" (looked for {program})",
            field="scenario.program",
            line=locate(text, ("scenario", "program")),
        )
    scenario = lesson.scenario.model_copy(update={"program": str(program)})
    return lesson.model_copy(update={"scenario": scenario})


def _lesson_error(path: Path | str, text: str, exc: ValidationError) -> LessonError:
    from redisqueue_tutor.lessons.model import Lesson, _RefError

    error = exc.errors(include_url=False)[0]
    loc: tuple[Any, ...] = tuple(error["loc"])
    message = error["msg"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _RefError):
        # A Lesson-level check gives the full path; a nested model's check gives its own field.
        full = ctx_error.loc[0] in Lesson.model_fields
        loc, message = (ctx_error.loc if full else loc + ctx_error.loc), ctx_error.message
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling, or the lesson format in the README)"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "literal_error":
        message = f"got {reprlib.repr(error['input'])}; {message[0].lower()}{message[1:]}"
    return LessonError(path, message, field=format_loc(loc), line=locate(text, loc))


_HEADER = r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$"
_KEY = r"^\s*([A-Za-z0-9_\-]+)\s*="


def locate(text: str, loc: Sequence[Any]) -> int | None:
    """Best-effort line number (1-based) of a field path in a TOML text.

    Handles what lesson files use: top-level keys, [tables], [[arrays of tables]] and keys inside
    them. A field that is missing points at its table's header.
    """
    # Build (table path, header line) while scanning, counting [[array]] entries.
    counts: dict[str, int] = {}
    table: tuple[Any, ...] = ()
    best: int | None = None
    names = list(loc)
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(_HEADER, line)  # re caches compiled patterns; only errors get here
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (*name.split("."), counts[name])
            else:
                table = tuple(name.split("."))
            if tuple(names[: len(table)]) == table and best is None:
                best = number
            continue
        key = re.match(_KEY, line)
        if (
            key
            and len(names) > len(table)
            and tuple(names[: len(table)]) == table
            and names[len(table)] == key.group(1)
        ):
            return number
    return best
