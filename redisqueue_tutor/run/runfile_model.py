"""The shape of a run file (runfile.py), checked by pydantic when `tutor step --from` reads one.

Every field the reader uses, of the type the writer writes; a field of another type is refused
with its place in the file. Unknown fields are ignored, so a file from a tutor that added one still
reads. Kept apart from runfile.py, which the tracer imports into every traced program: pydantic is
loaded only to read a file.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, StrictFloat, StrictInt, StrictStr
from pydantic_core import PydanticCustomError


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _argument(value: Any) -> Any:
    """A command's argument: text, or {"hex": ...} for bytes that are not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind in ("hex", "bytes") and isinstance(text, str):
            return value
    raise PydanticCustomError("string_type", "Input should be a valid string")


class FileCommand(_Shape):
    client: StrictStr
    args: list[Annotated[Any, PlainValidator(_argument)]]
    reply: Any = None
    error: StrictStr | None = None


class FileStep(_Shape):
    number: StrictInt
    actor: StrictStr
    thread: StrictStr | None = None
    action: StrictStr
    commands: list[FileCommand]
    output: StrictStr = ""
    state: list[tuple[StrictStr, Any]]


class FileKey(_Shape):
    key: StrictStr
    type: StrictStr
    value: Any = None


class FileOutcome(_Shape):
    status: StrictStr = "finished"
    message: StrictStr = ""
    seconds: StrictFloat | StrictInt = 0.0


class RunFile(_Shape):
    title: StrictStr = "A traced run"
    source: StrictStr = ""
    backend: StrictStr = ""
    lanes: list[StrictStr] = []
    names: list[StrictStr] = []
    lists: list[StrictStr] = []
    steps: list[FileStep]
    keys: list[FileKey] = []
    outcome: FileOutcome | None = None
    stdout: StrictStr = ""
    stderr: StrictStr = ""
