"""JSON from a file the tutor did not necessarily write as it is now: progress and run files.

`json.loads` alone is not enough for a file anyone can edit: it recurses (a file nested 100,000
deep raises RecursionError), and it accepts lone UTF-16 surrogates ("\\ud800") that no terminal can
print, so the crash would come later, in the middle of a screen. `load_json` turns every way the
bytes can fail into one JsonFileError line.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonFileError(ValueError):
    """Why the bytes are not usable JSON, in one line; `line` is where, when JSON says."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def load_json(raw: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `raw`, at most `max_bytes` long and `max_depth` arrays or objects deep."""
    if len(raw) > max_bytes:
        raise JsonFileError(f"larger than {max_bytes // 1_000_000} MB, the most the tutor reads")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonFileError("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"not JSON ({exc.msg})", exc.lineno) from None
    except RecursionError:
        raise JsonFileError("arrays or objects nested too deeply") from None
    except ValueError:  # Python refuses to read a number of more than 4,300 digits
        raise JsonFileError("not JSON the tutor reads (a number of thousands of digits)") from None
    _check(data, max_depth)
    return data


def _check(data: Any, max_depth: int) -> None:
    # Walked with a list, not by recursion: the point is to refuse what recursion cannot handle.
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise JsonFileError("a string holds a lone surrogate (\\ud800-\\udfff), not text")
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise JsonFileError(f"arrays or objects nested more than {max_depth} deep")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
