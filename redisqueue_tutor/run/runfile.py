"""A traced run as data, and its JSON file: what `tutor trace --output` writes and `--from` reads.

The file is JSON, UTF-8, one object:

```
{
  "format": "tutor-run",        # always this string
  "version": 1,                 # the format version; a reader refuses one it does not know
  "title": "Trace of queue.py",
  "source": "queue.py",         # the program that ran
  "backend": "embedded fakeredis 2.40.0 (in-process, nothing to install)",
  "lanes": ["r", "listen"],     # who sent commands: a client's variable, or a thread's name
  "names": ["queue"],           # keys and channels the program named, shown bare
  "lists": ["queue"],           # the lists shown in the Queue State column
  "steps": [                    # one per command (or pipeline, or message received), in order
    {"number": 1, "actor": "r", "thread": "main",
     "action": "line 4: r.lpush('queue', 'task1')",
     "commands": [{"client": "r", "args": ["LPUSH", "queue", "task1"],
                   "reply": 1, "error": null}],
     "output": "",              # what that thread printed after the command
     "state": [["queue", ["task1"]]]}
  ],
  "keys": [{"key": "queue", "type": "list", "value": []}],   # every key touched, at the end
  "outcome": {"status": "finished", "message": "", "seconds": 0.12},
  "stdout": "...", "stderr": "..."   # the program's own output, in full
}
```

`status` is one of `finished`, `error` (the program raised or exited non-zero; `message` is its
error line), `timeout` (stopped after --timeout seconds) or `refused` (it sent a command the tracer
will not send). Values are JSON as they are (null, true, 1, 1.5, "text"); an array reply is a list;
bytes (a client without decode_responses) are `{"bytes": "text"}`, or `{"hex": "ff00"}` when they
are not UTF-8. Key and channel names are the program's own (never the namespace of a real server).
"""

from __future__ import annotations

import functools
import json
import reprlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redisqueue_tutor.run.records import (
    CommandRecord,
    DictValue,
    ListValue,
    SetValue,
    StepRecord,
    Value,
    python_text,
)
from redisqueue_tutor.wording import format_loc

if TYPE_CHECKING:
    from redisqueue_tutor.run.runfile_model import RunFile

LIST_COMMANDS = frozenset(
    [
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LPOP",
        "RPOP",
        "LLEN",
        "LRANGE",
        "LINDEX",
        "LSET",
        "LREM",
        "LTRIM",
        "LINSERT",
        "LPOS",
        "LMOVE",
        "RPOPLPUSH",
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "LMPOP",
        "BLMPOP",
    ]
)
FORMAT = "tutor-run"
VERSION = 1


class RunFileError(Exception):
    """A run file that cannot be read, in one line."""


# --------------------------------------------------------------------------------------------------
# Values


def encode_value(value: Value) -> Any:
    """A value as JSON: text, numbers and lists as they are; bytes as {"bytes": ...} or {"hex":
    ...}; a dict as {"dict": [[key, value], ...]}, a set as {"set": [...]} and a tuple as
    {"tuple": [...]}, so that each reads back as the kind of value the program held."""
    if isinstance(value, bytes):
        try:
            return {"bytes": value.decode("utf-8")}
        except UnicodeDecodeError:
            return {"hex": value.hex()}
    if isinstance(value, DictValue):
        return {"dict": [[encode_value(k), encode_value(v)] for k, v in value]}
    if isinstance(value, SetValue):
        return {"set": [encode_value(v) for v in value]}
    if isinstance(value, tuple) and not isinstance(value, ListValue):
        return {"tuple": [encode_value(v) for v in value]}
    if isinstance(value, tuple | list):
        return [encode_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def decode_value(value: Any) -> Value:
    if isinstance(value, dict):
        if isinstance(value.get("bytes"), str):
            return str(value["bytes"]).encode("utf-8")
        if isinstance(value.get("hex"), str):
            return bytes.fromhex(value["hex"])
        items = next((value[k] for k in ("dict", "set", "tuple") if k in value), None)
        if len(value) == 1 and isinstance(items, list):
            if "dict" in value:
                pairs = [p for p in items if isinstance(p, list) and len(p) == 2]
                if len(pairs) == len(items):
                    return DictValue((decode_value(k), decode_value(v)) for k, v in pairs)
            elif "set" in value:
                return SetValue(decode_value(v) for v in items)
            else:
                return tuple(decode_value(v) for v in items)
        raise RunFileError(
            f"a value {reprlib.repr(value)} is neither JSON nor one of {{'bytes': ...}},"
            " {'hex': ...}, {'dict': [[key, value], ...]}, {'set': [...]}, {'tuple': [...]}"
        )
    if isinstance(value, list):
        return ListValue(decode_value(v) for v in value)  # a JSON array: a list in Python
    return value


# --------------------------------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class Moment:
    question: str
    answer: str


@dataclass(frozen=True)
class Lane:
    name: str


@dataclass(frozen=True)
class KeyAtEnd:
    key: str
    type: str
    value: Value


@dataclass(frozen=True)
class Outcome:
    status: str  # finished | error | timeout | refused
    message: str = ""
    seconds: float = 0.0

    @property
    def sentence(self) -> str:
        took = f"{self.seconds:.1f} s"
        if self.status == "finished":
            return f"The program finished after {took}."
        if self.status == "timeout":
            where = self.message.partition(" while it ran ")[2]
            at = f" Where it was: {where}" if where else ""
            return (
                f"The program was stopped after {took} (--timeout); the table shows it so far.{at}"
            )
        if self.status == "refused":
            return f"The program was stopped: {self.message}."
        return f"The program raised after {took}: {self.message}"


@dataclass(frozen=True)
class TracedStep:
    """A step record plus what only a trace knows: the thread that sent it."""

    record: StepRecord
    thread: str
    # The watched keys (TraceOptions.watch) after this step: (name, type, value), type "none"
    # for a key not there.
    watched: tuple[tuple[str, str, Value], ...] = ()


@dataclass(frozen=True)
class Run:
    """Everything a trace recorded. Satisfies render.Screenplay, so it draws like a lesson."""

    title: str
    source: str
    backend: str
    lanes: tuple[str, ...]
    names: tuple[str, ...]
    lists: tuple[str, ...]
    traced: tuple[TracedStep, ...]
    keys: tuple[KeyAtEnd, ...] = ()
    outcome: Outcome = Outcome("finished")
    stdout: str = ""
    stderr: str = ""

    # -- what a step screen reads (render.Screenplay) -----------------------------------------
    @property
    def clients(self) -> tuple[Lane, ...]:
        return tuple(Lane(name) for name in self.lanes)

    @property
    def key_names(self) -> tuple[str, ...]:
        return self.names

    @functools.cached_property
    def steps(self) -> tuple[StepRecord, ...]:
        # Remembered: the screens ask for it several times, and a run may have 100,000 steps.
        return tuple(t.record for t in self.traced)

    @property
    def end_note(self) -> str:
        return self.outcome.sentence

    @property
    def compare(self) -> tuple[str, ...]:
        return ()

    def moment_for(self, step_number: int) -> Moment | None:
        return None

    def code_for(self, step_number: int) -> str | None:
        return None  # a traced step's action already names its program line

    # -- as a lesson run, for the stepper -------------------------------------------------------
    @property
    def start(self) -> StepRecord:
        return StepRecord(
            number=0,
            actor="",
            action="Start",
            commands=(),
            output="",
            state=tuple((name, ListValue()) for name in self.lists),
            variables=(),
        )

    def received(self) -> dict[str, list[CommandRecord]]:
        """The messages each listener read, by lane."""
        heard: dict[str, list[CommandRecord]] = {}
        for record in self.steps:
            for command in record.commands:
                if not command.args and _is_message(command.reply):
                    heard.setdefault(command.client, []).append(command)
        return heard


def _is_message(reply: Value) -> bool:
    kind = reply[0] if isinstance(reply, tuple) and reply else None
    if isinstance(kind, bytes):
        kind = kind.decode("utf-8", "replace")
    return kind in ("message", "pmessage", "smessage")


class Replay:
    """A recorded run played back as the stepper plays a lesson: no Redis, no re-running."""

    def __init__(self, run: Run) -> None:
        self.lesson = run
        self.start = run.start
        self._records = run.steps
        self._done = 0

    def __iter__(self) -> Iterator[StepRecord]:
        while self._done < len(self._records):
            yield self.next_step()

    @property
    def finished(self) -> bool:
        return self._done >= len(self._records)

    def next_step(self) -> StepRecord:
        record = self._records[self._done]
        self._done += 1
        return record


def changed_marks(
    state: Sequence[tuple[str, Value]], before: Mapping[str, Value]
) -> frozenset[str]:
    """The marks of the lists a step changed, against the step before (an empty list where that
    one did not show it): what the renderer highlights."""
    return frozenset(f"state:{k}" for k, v in state if before.get(k, ListValue()) != v)


def with_changes(records: Sequence[StepRecord], start: StepRecord) -> list[StepRecord]:
    """Mark which keys changed at each step (the renderer highlights them)."""
    out = []
    previous = start
    for record in records:
        marked = replace(record, changed=changed_marks(record.state, previous.state_map))
        out.append(marked)
        previous = marked
    return out


# --------------------------------------------------------------------------------------------------
# JSON


def _encode_command(command: CommandRecord) -> dict[str, Any]:
    return {
        "client": command.client,
        # Text as text; an argument that is not UTF-8 as {"hex": ...}, as values are.
        "args": [encode_value(a) for a in command.args],
        "reply": encode_value(command.reply),
        "error": command.error,
    }


def to_json(run: Run) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "title": run.title,
        "source": run.source,
        "backend": run.backend,
        "lanes": list(run.lanes),
        "names": list(run.names),
        "lists": list(run.lists),
        "steps": [
            {
                "number": t.record.number,
                "actor": t.record.actor,
                "thread": t.thread,
                "action": t.record.action,
                "commands": [_encode_command(c) for c in t.record.commands],
                "output": t.record.output,
                "state": [[k, encode_value(v)] for k, v in t.record.state],
            }
            for t in run.traced
        ],
        "keys": [{"key": k.key, "type": k.type, "value": encode_value(k.value)} for k in run.keys],
        "outcome": {
            "status": run.outcome.status,
            "message": run.outcome.message,
            "seconds": round(run.outcome.seconds, 3),
        },
        "stdout": run.stdout,
        "stderr": run.stderr,
    }


def write_run(run: Run, path: Path) -> None:
    path.write_text(json.dumps(to_json(run), indent=1, ensure_ascii=False) + "\n", "utf-8")


# A run file holds every value whole (tracing three 10 MB values makes tens of MB); beyond this it is
# not a file `tutor trace` wrote, and parsing it would hold the learner for minutes.
MAX_FILE_BYTES = 100_000_000
# Arrays and objects inside each other: the file's own structure takes 5, Redis replies a few
# more (XREAD's are 5 deep). Deeper values could not be drawn without exhausting Python's stack.
MAX_DEPTH = 64


def read_run(path: Path) -> Run:
    """The run a file holds; RunFileError, in one line naming the file, for every way it cannot."""
    from redisqueue_tutor.jsonfile import JsonFileError, load_json

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = load_json(raw, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH)
        return from_json(data)
    except JsonFileError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise RunFileError(f"{where}: {exc}") from None
    except RunFileError as exc:
        raise RunFileError(f"{path}: {exc}") from None


def from_json(data: Any) -> Run:
    """The run in a run file's JSON data; RunFileError in one line when it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunFileError(f'not a run file (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise RunFileError(
            f"run file version {reprlib.repr(data.get('version'))}; this tutor reads version {VERSION}"
        )
    from pydantic import ValidationError

    from redisqueue_tutor.run.runfile_model import RunFile

    try:
        return _run(RunFile.model_validate(data))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = format_loc(error["loc"])
        where = where if len(where) <= 60 else where[:60] + "..."
        raise RunFileError(f"{where}: {error['msg']}" if where else error["msg"]) from None
    except ValueError as exc:  # a {"hex": ...} value that is not hexadecimal
        raise RunFileError(f"a value is not what it says: {exc}") from None


def _run(file: RunFile) -> Run:
    steps = []
    for entry in file.steps:
        commands = tuple(
            CommandRecord(
                client=c.client,
                args=tuple(decode_value(a) for a in c.args),
                reply=decode_value(c.reply),
                error=c.error,
            )
            for c in entry.commands
        )
        record = StepRecord(
            number=entry.number,
            actor=entry.actor,
            action=entry.action,
            commands=commands,
            output=entry.output,
            state=tuple((k, decode_value(v)) for k, v in entry.state),
            variables=(),
        )
        steps.append((record, entry.thread if entry.thread is not None else entry.actor))
    run = Run(
        title=file.title,
        source=file.source,
        backend=file.backend,
        lanes=tuple(file.lanes),
        names=tuple(file.names),
        lists=tuple(file.lists),
        traced=(),
    )
    marked = with_changes([r for r, _t in steps], run.start)
    return replace(
        run,
        traced=tuple(
            TracedStep(record, thread) for record, (_r, thread) in zip(marked, steps, strict=True)
        ),
        keys=tuple(KeyAtEnd(k.key, k.type, decode_value(k.value)) for k in file.keys),
        outcome=(
            Outcome(file.outcome.status, file.outcome.message, float(file.outcome.seconds))
            if file.outcome
            else Outcome("finished")
        ),
        stdout=file.stdout,
        stderr=file.stderr,
    )


def value_text(value: Value) -> str:
    return python_text(value)
