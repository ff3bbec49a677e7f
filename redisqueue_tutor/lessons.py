"""Find, load and validate lesson files.

A lesson is a TOML file (format 1) in the top-level ``lessons/`` folder; the wheel ships that folder
inside the package. Validation is strict: unknown fields are refused, and every error names the file,
the field and, where TOML lets us find it, the line.

This module must stay free of redis and fakeredis imports: ``tutor list`` and ``tutor --help`` use it.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import string
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from redisqueue_tutor.questions import Question

FORMAT_VERSION = 1
ENV_LESSONS_DIR = "TUTOR_LESSONS_DIR"
LESSON_SUFFIX = ".toml"

# Commands a lesson may never send: they touch data the run did not create, or the server itself.
FORBIDDEN_COMMANDS = frozenset(
    {
        "FLUSHDB",
        "FLUSHALL",
        "KEYS",
        "MONITOR",
        "CONFIG",
        "SHUTDOWN",
        "DEBUG",
        "SWAPDB",
        "MOVE",
        "SELECT",
        "REPLICAOF",
        "SLAVEOF",
        "ACL",
        "SCRIPT",
        "FUNCTION",
        "MIGRATE",
        "RESET",
    }
)

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
LessonId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Client(_Strict):
    """One Redis client of the scenario (a producer, a consumer, a subscriber...)."""

    name: Identifier
    role: str = ""
    # What the program's code gets back: str with decode_responses=True, bytes without.
    decode_responses: bool = True


class StateKey(_Strict):
    """A key whose contents are shown in the Queue State column and the variable tracker."""

    key: Identifier
    type: Literal["list"] = "list"


class Expect(_Strict):
    """What the author claims a step shows; `tutor check` proves it against the run."""

    state: str | None = None
    reply: str | None = None
    output: str | None = None
    variables: dict[str, str] = {}


class Step(_Strict):
    actor: Identifier
    action: Text
    command: str | None = None
    assign: Identifier | None = None
    output: str | None = None
    expect: Expect | None = None

    @model_validator(mode="after")
    def _command_shape(self) -> Step:
        if self.command is not None:
            try:
                words = shlex.split(self.command)
            except ValueError as exc:
                raise ValueError(f"command {self.command!r} cannot be split: {exc}") from None
            if not words:
                raise ValueError("command is empty; leave it out for a step without Redis")
            if words[0].upper() in FORBIDDEN_COMMANDS:
                raise ValueError(f"{words[0].upper()} is not allowed in a lesson")
        if self.assign and not self.command:
            raise ValueError("assign needs a command whose reply it stores")
        return self


class Moment(_Strict):
    """A key moment: a question a learner asks at one or more steps, and its answer."""

    steps: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    question: Text
    answer: Text


class Concept(_Strict):
    flow: list[Text] = Field(min_length=1)
    text: Text
    snapshot: list[Text] = []


class Lesson(_Strict):
    format: Literal[1]
    id: LessonId
    title: Text
    level: Literal["beginner", "intermediate", "advanced"]
    summary: Text
    concept: Concept
    clients: list[Client] = Field(min_length=1)
    state: list[StateKey] = []
    variables: list[Identifier] = []
    steps: list[Step] = Field(min_length=1)
    moments: list[Moment] = []
    questions: list[Question] = []
    end_note: str = ""

    @model_validator(mode="after")
    def _references(self) -> Lesson:
        clients = [c.name for c in self.clients]
        _unique("clients", clients)
        _unique("state", [s.key for s in self.state])
        _unique("variables", self.variables)
        for index, step in enumerate(self.steps):
            if step.actor not in clients:
                raise _RefError(
                    ("steps", index, "actor"),
                    f"{step.actor!r} is not a client of this lesson ({', '.join(clients)})",
                )
            if step.assign and step.assign not in self.variables:
                raise _RefError(
                    ("steps", index, "assign"),
                    f"{step.assign!r} is not declared in variables",
                )
            for field in ("action", "command", "output"):
                text = getattr(step, field)
                if text is None:
                    continue
                for name in template_names(text):
                    if name not in self.variables:
                        raise _RefError(
                            ("steps", index, field),
                            f"{{{name}}} is not a declared variable",
                        )
            if step.expect:
                for name in step.expect.variables:
                    if name not in self.variables:
                        raise _RefError(
                            ("steps", index, "expect"), f"variable {name!r} is not declared"
                        )
        for index, moment in enumerate(self.moments):
            for number in moment.steps:
                if number > len(self.steps):
                    raise _RefError(
                        ("moments", index, "steps"),
                        f"step {number} does not exist (the lesson has {len(self.steps)})",
                    )
        for index, question in enumerate(self.questions):
            if question.step and question.step > len(self.steps):
                raise _RefError(
                    ("questions", index, "step"), f"step {question.step} does not exist"
                )
        return self

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.state)

    def moment_for(self, step_number: int) -> Moment | None:
        for moment in self.moments:
            if step_number in moment.steps:
                return moment
        return None


class _RefError(ValueError):
    """A cross-reference error that knows which field it belongs to."""

    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _unique(field: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise _RefError((field, index), f"{name!r} appears twice")
        seen.add(name)


_FORMATTER = string.Formatter()


def template_names(text: str) -> list[str]:
    """The variable names a template such as ``"Processed {task!r}"`` refers to."""
    names = []
    try:
        for _literal, field, _spec, _conv in _FORMATTER.parse(text):
            if field is not None:
                if not re.fullmatch(r"[a-z][a-z0-9_]*", field):
                    raise ValueError(f"{{{field}}}: only plain variable names may be used")
                names.append(field)
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from None
    return names


def fill_template(text: str, variables: dict[str, Any]) -> str:
    return text.format(**variables)


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
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class UnknownLesson(LookupError):
    def __init__(self, lesson_id: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(lesson_id, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown lesson '{lesson_id}'.{hint} `tutor list` shows the lessons.")


@dataclass(frozen=True)
class LessonSource:
    path: Path
    builtin: bool


def builtin_lessons_dir() -> Path:
    packaged = Path(__file__).with_name("lessons")
    if packaged.is_dir():
        return packaged
    # Running from a source checkout (or an editable install): the top-level folder.
    return Path(__file__).resolve().parent.parent / "lessons"


def lesson_dirs(extra: Sequence[Path] = ()) -> list[tuple[Path, bool]]:
    dirs: list[tuple[Path, bool]] = [(builtin_lessons_dir(), True)]
    env = os.environ.get(ENV_LESSONS_DIR, "")
    for part in env.split(os.pathsep):
        if part.strip():
            dirs.append((Path(part.strip()).expanduser(), False))
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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_lesson(text, path)


def parse_lesson(text: str, path: Path | str = "<lesson>") -> Lesson:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LessonError(
            path, f"not valid TOML: {message}", line=int(match.group(1)) if match else None
        ) from None
    version = data.get("format")
    if version != FORMAT_VERSION:
        raise LessonError(
            path,
            f"format {version!r} is not supported (this tutor reads format {FORMAT_VERSION})"
            if version is not None
            else f"missing; add `format = {FORMAT_VERSION}` at the top",
            field="format",
            line=locate(text, ("format",)),
        )
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
    return lesson


def _lesson_error(path: Path | str, text: str, exc: ValidationError) -> LessonError:
    error = exc.errors(include_url=False)[0]
    loc: tuple[Any, ...] = tuple(error["loc"])
    message = error["msg"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _RefError):
        loc, message = ctx_error.loc, ctx_error.message
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling, or the lesson format in the README)"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "literal_error":
        message = f"got {error['input']!r}; {message[0].lower()}{message[1:]}"
    return LessonError(path, message, field=format_loc(loc), line=locate(text, loc))


def format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


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
        header = _HEADER.match(line)
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
        key = _KEY.match(line)
        if (
            key
            and len(names) > len(table)
            and tuple(names[: len(table)]) == table
            and names[len(table)] == key.group(1)
        ):
            return number
    return best
