"""Property-based fuzzing (Hypothesis) of every file the tutor reads: lessons, progress, run files.

Each strategy builds files from a good one, the way they go wrong in practice: a field of the wrong
type, a field missing or unknown, values with odd Unicode or escape sequences, huge strings and
numbers, templates with formats, nesting thousands deep, and text cut or scribbled on. For every
file the loader must end in success or in the tutor's own one-line error, never another
exception; a sample also goes through the command as a person runs it (Typer's CliRunner).

The runs are derandomized (the same cases on every machine and in CI) and each test asserts how
many cases it ran, so the figures can be quoted: see CASES.
"""

from __future__ import annotations

import copy
import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from redisqueue_tutor.cli import app
from redisqueue_tutor.lessons import LessonError, load_lesson, summarize
from redisqueue_tutor.progress import ProgressStore, with_quiz, with_steps_seen
from redisqueue_tutor.run.runfile import RunFileError, read_run
from tests.conftest import ROOT

# Cases per strategy (each test asserts it ran at least this many). With them the whole file takes
# about 20 s on one core.
CASES = {
    "lesson files, loaded": 400,
    "lesson files, tutor check and step": 40,
    "progress files, loaded and saved": 400,
    "progress files, tutor progress": 60,
    "run files, loaded": 400,
    "run files, tutor step --from": 60,
}

runner = CliRunner()
MINI = tomllib.loads((ROOT / "tests" / "lessons" / "mini.toml").read_text())
FUZZ = {
    "deadline": None,
    "derandomize": True,  # the same cases everywhere: a failure here is a bug, never bad luck
    "database": None,  # nothing written into the work tree
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(autouse=True)
def _same_cases_whatever_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis (6.13x on) also draws the constants written in the project's modules that are
    loaded when a test runs ("local constants"), so the derandomized cases changed with the
    modules earlier tests had imported (the classroom's, say). Without them the cases are the
    same whatever ran before, as the module promises. Private API: if it moves, this fails."""
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants(
        integers=providers.SortedSet(),
        floats=providers.SortedSet(key=providers.float_to_int),
        bytes=providers.SortedSet(),
        strings=providers.SortedSet(),
    )
    monkeypatch.setattr(providers, "_get_local_constants", lambda: empty)


def ran(name: str, cases: list[object]) -> None:
    """Check a fuzz test ran the cases CASES says (printed with pytest -s, to be quoted)."""
    print(f"{name}: {len(cases)} cases")
    assert len(cases) >= CASES[name], len(cases)


def assert_one_line(message: str, path: Path) -> None:
    assert "\n" not in message and "\r" not in message, message[:300]
    assert message.startswith(str(path)), message[:300]
    assert len(message) < 2_000, message[:300]


def assert_cli_is_clean(result: Any, codes: set[int]) -> None:
    """Exit through the tutor's own exits, and every line on stderr is an Error or a Warning."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in codes, (result.exit_code, result.output[-1500:])
    assert "Traceback" not in result.output
    for line in result.stderr.splitlines():
        assert line.startswith(("Error: ", "Warning: ")), line[:300]


# --------------------------------------------------------------------------------------------------
# Values, in the shapes files get wrong

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x1b[31mred\x1b[0m",
        "a\nb",
        "\r\n",
        "\t",
        "\u202etxet",  # right-to-left override
        "e\u0301\u0301\u0301",  # combining accents
        "🙂" * 3,
        "\ufeff",
        "\u2028",
        "{",
        "}",
        "{task",
        "{}",
        "{0}",
        "{task!r}",
        "'quoted' \"twice\"",
        "FLUSHALL",
        "LPUSH jobs x",
    ]
)
TEXT = st.one_of(ODD_TEXT, st.text(max_size=30))
HUGE_TEXT = st.builds(
    lambda piece, n: piece * n,
    st.sampled_from(["x", "é ", "{", "\\n", "🙂"]),
    st.integers(1_001, 300_000),
)
HUGE_INT = st.builds(lambda digits: int("9" * digits), st.integers(19, 4_000))
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    HUGE_INT,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    TEXT,
)


def toml_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(SCALARS, st.datetimes(), st.dates()),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=8,
    )


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(st.none(), SCALARS),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=8,
    )


@st.composite
def templates(draw: st.DrawFn) -> str:
    """A template field with a format: '{task!r:>200000000}', '{got[0]:.3}', '{x:{y}}'..."""
    name = draw(st.sampled_from(["task", "got", "size", "data", "missing", "0", "", "got[0]"]))
    conversion = draw(st.sampled_from(["", "!r", "!s", "!a", "!x"]))
    fill_align = draw(st.sampled_from(["", "<", ">", "^", "=", "x>", "0>", "{>"]))
    sign = draw(st.sampled_from(["", "+", "-", " "]))
    width = draw(
        st.one_of(st.just(""), st.integers(0, 300).map(str), st.integers(0, 10**12).map(str))
    )
    precision = draw(st.one_of(st.just(""), st.integers(0, 10**9).map(lambda n: f".{n}")))
    kind = draw(st.sampled_from(["", "s", "d", "x", ",", "{size}"]))
    spec = fill_align + sign + width + precision + kind
    field = "{" + name + conversion + (":" + spec if spec else "") + "}"
    return (
        draw(st.sampled_from(["", "Text ", "{{"])) + field + draw(st.sampled_from(["", " after"]))
    )


@st.composite
def good_templates(draw: st.DrawFn) -> str:
    """Templates a lesson may use, with formats at and under the bounds: '{got!r:^200}'."""
    name = draw(st.sampled_from(["got", "size", "got[0]", "size[3]"]))
    conversion = draw(st.sampled_from(["", "!r", "!s", "!a"]))
    align = draw(st.sampled_from(["", "<", ">", "^", "*^", "0>"]))
    width = draw(st.one_of(st.just(""), st.integers(0, 200).map(str)))
    precision = draw(st.one_of(st.just(""), st.integers(0, 200).map(lambda n: f".{n}")))
    spec = align + width + precision + draw(st.sampled_from(["", "s"]))
    return "Got {" + name + conversion + (":" + spec if spec else "") + "} {{braces}}"


# --------------------------------------------------------------------------------------------------
# Structured changes to a good file


def paths_in(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in nested dicts and lists that holds a value."""
    found: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, dict | list):
            found.extend(paths_in(value, (*prefix, key)))
    return found


def parent_of(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated(
    draw: st.DrawFn,
    good: dict[str, Any],
    values: st.SearchStrategy[Any],
    only: frozenset[str] = frozenset(),
) -> Any:
    """`good` with a few changes: a value replaced, a field removed or added, a template.

    With `only`, just the fields of those names get new values (texts and templates), so most
    files stay valid and go on to run.
    """
    data = copy.deepcopy(good)
    for _ in range(draw(st.sampled_from([0, 1, 2, 3, 4]))):
        # Deepest first: Hypothesis favours the start of a list, and `format` would win too often.
        paths = sorted(
            (p for p in paths_in(data) if not only or _is_text_of(data, p, only)),
            key=len,
            reverse=True,
        )
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = parent_of(data, path)
        kinds = ["replace"] if only else ["replace", "remove", "add"]
        change = draw(st.sampled_from([*kinds, "template", "huge"]))
        if change == "replace":
            parent[path[-1]] = draw(values)
        elif change == "remove":
            del parent[path[-1]]
        elif change == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(values)
        elif change == "add":
            parent.append(draw(values))
        elif change == "template":
            parent[path[-1]] = draw(good_templates() if only else templates())
        else:
            parent[path[-1]] = draw(HUGE_TEXT.map(lambda t: t[:1000]) if only else HUGE_TEXT)
    return data


def _is_text_of(data: Any, path: tuple[Any, ...], names: frozenset[str]) -> bool:
    named = next((k for k in reversed(path) if isinstance(k, str)), None)
    return named in names and isinstance(parent_of(data, path)[path[-1]], str)


@st.composite
def scribbled(draw: st.DrawFn, text: str, opener: str) -> str:
    """The text of a file, sometimes nested deep, cut short or scribbled on."""
    # sampled_from favours its first items: most texts are left as they are.
    if draw(st.sampled_from([False] * 7 + [True])):
        depth = draw(st.one_of(st.sampled_from([64, 65, 5_000, 100_000]), st.integers(1, 5_000)))
        text = opener.format("[" * depth + "]" * depth) + text
    change = draw(st.sampled_from(["none"] * 6 + ["cut", "insert"]))
    if change == "cut" and text:
        text = text[: len(text) - draw(st.integers(1, len(text)))]
    elif change == "insert":
        at = len(text) - draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(ODD_TEXT, st.text(max_size=5))) + text[at:]
    return text


def toml_text(data: dict[str, Any]) -> str:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):  # a shape TOML cannot hold (a list of tables and numbers)
        return "format = 1\nid = 'mini'\nsteps = " + json.dumps(str(data)[:500]) + "\n"


@st.composite
def lesson_texts(draw: st.DrawFn) -> str:
    """Lesson files broken in every way: most are refused, some load."""
    return draw(scribbled(toml_text(draw(mutated(MINI, toml_values()))), "nest = {}\n"))


# The fields a person writes in their own words: new texts and templates there mostly still load,
# so the lesson runs and every screen of `tutor step` draws them.
WORDS = frozenset(
    ["action", "output", "command", "on_message", "ask", "notes", "code", "role", "title"]
    + ["summary", "text", "question", "answer", "flow", "end_note"]
)


WORDS_TEXT = st.one_of(
    ODD_TEXT.filter(lambda t: t.strip() and "{" not in t and "}" not in t),
    st.text(st.characters(exclude_characters="{}"), min_size=1, max_size=30).filter(str.strip),
)


@st.composite
def runnable_lesson_texts(draw: st.DrawFn) -> str:
    return toml_text(draw(mutated(MINI, WORDS_TEXT, only=WORDS)))


def check_lesson_file(path: Path) -> None:
    for load in (load_lesson, summarize):
        try:
            load(path)
        except LessonError as exc:
            assert_one_line(str(exc), path)


def test_fuzzed_lesson_files_load_or_fail_in_one_line(tmp_path: Path):
    path = tmp_path / "mini.toml"  # the id the lesson gives, so a good lesson loads
    cases: list[str] = []

    @settings(max_examples=CASES["lesson files, loaded"], **FUZZ)
    @given(lesson_texts())
    def fuzz(text: str) -> None:
        cases.append(text)
        path.write_text(text, encoding="utf-8")
        check_lesson_file(path)

    fuzz()
    ran("lesson files, loaded", cases)
    good = 0
    for text in cases:  # a fuzzer that only made broken files would prove nothing of the good path
        path.write_text(text, encoding="utf-8")
        try:
            load_lesson(path)
            good += 1
        except LessonError:
            pass
    assert 10 <= good < 0.95 * len(cases), good


def test_fuzzed_lesson_files_through_check_and_step(tmp_path: Path):
    path = tmp_path / "mini.toml"
    cases: list[int] = []

    @settings(max_examples=CASES["lesson files, tutor check and step"], **FUZZ)
    @given(runnable_lesson_texts())
    def fuzz(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        checked = runner.invoke(app, ["check", "--plain", str(path)])
        assert_cli_is_clean(checked, {0, 1, 3})
        stepped = runner.invoke(app, ["step", "--plain", str(path)])
        assert_cli_is_clean(stepped, {0, 2, 3})
        cases.append(stepped.exit_code)

    fuzz()
    ran("lesson files, tutor check and step", cases)
    # A good share ran every step to the end: the fuzzer does not only make broken files (19
    # of the 40 cases, which no longer depend on the modules loaded before: see above).
    assert cases.count(0) >= 0.4 * len(cases)


# --------------------------------------------------------------------------------------------------
# Progress files

GOOD_PROGRESS = {
    "format": 1,
    "lessons": {
        "queue": {
            "steps_seen": [1, 2, 3],
            "total_steps": 7,
            "best_score": 3,
            "best_total": 4,
            "missed": ["pop-at-step-3", "run-pop-5"],
            "quizzes": 2,
        },
        "mini": {"steps_seen": [1], "total_steps": 5},
    },
}


@st.composite
def progress_bytes(draw: st.DrawFn) -> bytes:
    data = draw(mutated(GOOD_PROGRESS, json_values()))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    text = draw(scribbled(text, '{{"nest": {}, "x": '))
    if draw(st.sampled_from([False] * 10 + [True])):
        return text.encode("utf-8")[:-1] + b"\xff"  # not UTF-8
    return text.encode("utf-8", "surrogatepass")


def test_fuzzed_progress_files_load_or_are_set_aside_and_saving_works_after(tmp_path: Path):
    folders = (tmp_path / str(n) for n in itertools.count())
    cases: list[bytes] = []

    @settings(max_examples=CASES["progress files, loaded and saved"], **FUZZ)
    @given(progress_bytes())
    def fuzz(raw: bytes) -> None:
        cases.append(raw)
        folder = next(folders)
        folder.mkdir()
        (folder / "progress.json").write_bytes(raw)
        store = ProgressStore(folder)
        loaded = store.load()
        aside = list(folder.glob("progress.corrupt-*.json"))
        if loaded.warning is None:
            assert aside == []
        else:
            assert "\n" not in loaded.warning and str(aside[0]) in loaded.warning
            assert [p.read_bytes() for p in aside] == [raw]  # kept as it was
        for entry in loaded.progress.lessons.values():
            assert 0 <= entry.done(7) <= 1 and 0 <= entry.best_fraction <= 1
        # Whatever was read, what the tutor saves next reads back cleanly.
        store.update(lambda p: with_steps_seen(p, "queue", [1, 2], 7))
        store.update(
            lambda p: with_quiz(
                p, "queue", right=["a"], missed=["b"], score=1, total=2, complete=True
            )
        )
        again = store.load()
        assert again.warning is None
        assert set(again.progress.lesson("queue").steps_seen) >= {1, 2}

    fuzz()
    ran("progress files, loaded and saved", cases)
    assert 0.05 * len(cases) < sum(c.startswith(b'{"format": 1') for c in cases) < len(cases)


def test_fuzzed_progress_files_through_tutor_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folders = (tmp_path / str(n) for n in itertools.count())
    cases: list[bytes] = []

    @settings(max_examples=CASES["progress files, tutor progress"], **FUZZ)
    @given(progress_bytes())
    def fuzz(raw: bytes) -> None:
        cases.append(raw)
        folder = next(folders)
        folder.mkdir()
        (folder / "progress.json").write_bytes(raw)
        monkeypatch.setenv("TUTOR_DATA_DIR", str(folder))
        result = runner.invoke(app, ["progress", "--plain"])
        assert_cli_is_clean(result, {0})
        assert len(result.stderr.splitlines()) <= 1

    fuzz()
    ran("progress files, tutor progress", cases)


# --------------------------------------------------------------------------------------------------
# Run files

GOOD_RUN = {
    "format": "tutor-run",
    "version": 1,
    "title": "Trace of queue.py",
    "source": "queue.py",
    "backend": "embedded fakeredis",
    "lanes": ["r", "listen"],
    "names": ["queue", "chat"],
    "lists": ["queue"],
    "steps": [
        {
            "number": 1,
            "actor": "r",
            "thread": "main",
            "action": "line 4: r.lpush('queue', 'task1')",
            "commands": [
                {"client": "r", "args": ["LPUSH", "queue", "task1"], "reply": 1, "error": None}
            ],
            "output": "",
            "state": [["queue", ["task1"]]],
        },
        {
            "number": 2,
            "actor": "listen",
            "thread": "listener",
            "action": "listen receives",
            "commands": [
                {
                    "client": "listen",
                    "args": [],
                    "reply": [{"bytes": "message"}, {"bytes": "chat"}, {"hex": "ff00"}],
                    "error": None,
                },
                {"client": "r", "args": ["RPOP", "queue"], "reply": None, "error": "ERR x"},
            ],
            "output": "Received: hi",
            "state": [["queue", []]],
        },
    ],
    "keys": [{"key": "queue", "type": "list", "value": []}],
    "outcome": {"status": "finished", "message": "", "seconds": 0.12},
    "stdout": "Received: hi\n",
    "stderr": "",
}


@st.composite
def run_texts(draw: st.DrawFn) -> str:
    data = draw(mutated(GOOD_RUN, json_values()))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if draw(st.sampled_from([False] * 10 + [True])):
        text = text.replace('"main"', '"\\ud800"')  # a lone surrogate, escaped as JSON allows
    return draw(scribbled(text, '{{"nest": {}, "x": '))


def check_run_file(path: Path) -> bool:
    try:
        read_run(path)
    except RunFileError as exc:
        assert_one_line(str(exc), path)
        return False
    return True


def test_fuzzed_run_files_load_or_fail_in_one_line(tmp_path: Path):
    path = tmp_path / "run.json"
    cases: list[bool] = []

    @settings(max_examples=CASES["run files, loaded"], **FUZZ)
    @given(run_texts())
    def fuzz(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        cases.append(check_run_file(path))

    fuzz()
    ran("run files, loaded", cases)
    assert 40 <= sum(cases) < 0.95 * len(cases), sum(cases)  # good files too


def test_fuzzed_run_files_through_step_from(tmp_path: Path):
    path = tmp_path / "run.json"
    cases: list[str] = []

    @settings(max_examples=CASES["run files, tutor step --from"], **FUZZ)
    @given(run_texts())
    def fuzz(text: str) -> None:
        cases.append(text)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = runner.invoke(app, ["step", "--from", str(path), "--plain"])
        assert_cli_is_clean(result, {0, 2})

    fuzz()
    ran("run files, tutor step --from", cases)
