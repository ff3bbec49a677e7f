"""Malformed lesson files: each gets one line naming the file, the field and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redisqueue_tutor.lessons import LessonError, discover, find_lesson, load_lesson, parse_lesson
from tests.conftest import LESSONS, ROOT

GOOD = (ROOT / "tests" / "lessons" / "mini.toml").read_text()


def broken(text_from: str, text_to: str, count: int = 1) -> str:
    assert text_from in GOOD, text_from
    return GOOD.replace(text_from, text_to, count)


CASES = [
    # (what changes, expected message)
    (
        broken('level = "beginner"', 'level = "expert"'),
        "mini.toml:5: level: got 'expert'; input should be 'beginner', 'intermediate' or 'advanced'",
    ),
    (
        broken('title = "Mini"', 'title = "Mini"\ncolour = "red"'),
        "mini.toml:5: colour: unknown field (check its spelling, or the lesson format in the README)",
    ),
    (
        broken('actor = "bob"', 'actor = "carol"'),
        "mini.toml:33: steps[2].actor: 'carol' is not a client of this lesson (alice, bob)",
    ),
    (
        broken('assign = "got"', 'assign = "gotten"'),
        "mini.toml:36: steps[2].assign: 'gotten' is not declared in variables",
    ),
    (
        broken('output = "got {got}"', 'output = "got {missing}"'),
        "mini.toml:41: steps[3].output: {missing} is not a declared variable",
    ),
    (
        broken('command = "SET jobs x"', 'command = "FLUSHALL"'),
        "mini.toml:46: steps[4].command: FLUSHALL is refused: it erases every key of every database on the server",
    ),
    (
        broken("steps = [2]", "steps = [9]"),
        "mini.toml:54: moments[1].steps: step 9 does not exist (the lesson has 5)",
    ),
    (
        broken('text = "Only for tests."', ""),
        "mini.toml:9: concept.text: required field is missing",
    ),
    (
        broken("format = 1", "format = 2"),
        "mini.toml:2: format: format 2 is not supported (this tutor reads format 1)",
    ),
    (
        broken('[[clients]]\nname = "alice"', '[[clients]\nname = "alice"'),
        "mini.toml:13: not valid TOML: Expected ']]' at the end of an array declaration",
    ),
    (
        broken('output = "got {got}"', 'output = "got {got:>99999}"'),
        "mini.toml:41: steps[3].output: {got:>99999}: a width or precision of 99999 is too large"
        " (at most 200)",
    ),
    (
        broken('output = "got {got}"', 'output = "got {got:.201}"'),
        "mini.toml:41: steps[3].output: {got:.201}: a width or precision of 201 is too large"
        " (at most 200)",
    ),
    (
        broken('action = "Alice reads {got!r}"', 'action = "Alice reads {got!x}"'),
        "mini.toml:40: steps[3].action: {got!x}: the conversion after ! is r, s or a",
    ),
    (
        broken('output = "got {got}"', 'output = "got {got:d}"'),
        "mini.toml:41: steps[3].output: {got:d}: Unknown format code 'd' for object of type 'str'",
    ),
    (
        broken('output = "got {got}"', 'output = "got {got:{size}}"'),
        "mini.toml:41: steps[3].output: {got:{size}}: a field inside a format is not supported",
    ),
    (
        broken('output = "got {got}"', 'output = "got {got"'),
        "mini.toml:41: steps[3].output: bad template 'got {got': expected '}' before end of string",
    ),
    (
        broken('name = "bob"', 'name = "bob"\non_message = "{data:^12345}"'),
        "mini.toml:18: clients[2].on_message: {data:^12345}: a width or precision of 12345 is too"
        " large (at most 200)",
    ),
    (
        broken('action = "Alice pushes two jobs"', f'action = "{"x" * 1001}"'),
        "mini.toml:28: steps[1].action: String should have at most 1000 characters",
    ),
    (
        broken('id = "mini"', 'id = "other"'),
        "mini.toml:3: id: 'other' must match the file name ('mini')",
    ),
    (
        broken("command = \"RPUSH jobs a 'b c'\"", 'command = "RPUSH jobs \'unclosed"'),
        "mini.toml:29: steps[1].command: cannot be split into words: No closing quotation",
    ),
]


@pytest.mark.parametrize(("text", "message"), CASES, ids=[c[1].split(": ")[1] for c in CASES])
def test_malformed_lesson_is_one_clear_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "mini.toml"
    path.write_text(text)
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(str(tmp_path) + "/")
    assert line.removeprefix(str(tmp_path) + "/").startswith(message)


def test_the_good_file_loads():
    lesson = parse_lesson(GOOD, "mini.toml")
    assert lesson.id == "mini" and len(lesson.steps) == 5


def test_every_packaged_lesson_loads_and_is_found_by_id():
    found = discover()
    assert {"queue", "queue-rpush"} <= set(found)
    for lesson_id, source in found.items():
        assert source.path.parent == LESSONS
        assert load_lesson(source.path).id == lesson_id
    assert find_lesson("queue").title


def test_author_folder_overrides_and_adds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "mini.toml").write_text(GOOD)
    monkeypatch.setenv("TUTOR_LESSONS_DIR", str(tmp_path))
    found = discover()
    assert found["mini"].path == tmp_path / "mini.toml" and not found["mini"].builtin
    assert found["queue"].builtin


def test_missing_author_folder_is_an_error(tmp_path: Path):
    with pytest.raises(LessonError, match="lessons folder does not exist"):
        discover([tmp_path / "nope"])


def test_lesson_summaries_are_cached_and_refreshed_when_a_file_changes(tmp_path: Path, monkeypatch):
    from redisqueue_tutor import lessons

    monkeypatch.setenv("TUTOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    first = lessons.summarize_all([path])
    assert first[0].title == "Mini" and first[0].steps == 5
    assert (tmp_path / "cache" / "lesson-summaries.json").exists()
    parsed: list[Path] = []
    monkeypatch.setattr(lessons, "summarize", parsed.append)
    assert lessons.summarize_all([path]) == first  # from the cache: nothing parsed
    assert parsed == []
    monkeypatch.undo()
    monkeypatch.setenv("TUTOR_CACHE_DIR", str(tmp_path / "cache"))
    path.write_text(GOOD.replace('title = "Mini"', 'title = "Mini, longer"'))
    assert lessons.summarize_all([path])[0].title == "Mini, longer"
    (tmp_path / "cache" / "lesson-summaries.json").write_text("{not json")
    assert lessons.summarize_all([path])[0].title == "Mini, longer"  # a broken cache is ignored
    path.write_text("format = 1\nid = 'mini'\n")
    broken = lessons.summarize_all([path])[0]
    assert isinstance(broken, LessonError) and "title" in str(broken)


def test_a_cache_entry_of_the_wrong_shape_is_parsed_again(tmp_path: Path, monkeypatch):
    from redisqueue_tutor import lessons

    monkeypatch.setenv("TUTOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    lessons.summarize_all([path])
    cache_file = tmp_path / "cache" / "lesson-summaries.json"
    cache = json.loads(cache_file.read_text())
    (entry,) = cache["entries"].values()
    for wrong in ({**entry["summary"], "steps": "5"}, [1, 2], None, {"id": "x"}):
        entry["summary"] = wrong
        cache_file.write_text(json.dumps(cache))
        assert lessons.summarize_all([path])[0] == ("mini", "Mini", "beginner", 5, 0)
    cache_file.write_text("[" * 100_000 + "]" * 100_000)  # nested past json's recursion
    assert lessons.summarize_all([path])[0].title == "Mini"


def test_course_fields_of_the_wrong_type_are_one_line(tmp_path: Path):
    from redisqueue_tutor.lessons.course import check_course

    path = tmp_path / "course.toml"
    for body, field in (
        ('glossary = "words"', "glossary"),
        ("glossary = 3", "glossary"),
        ('[[glossary]]\nterm = "a"\nmeans = "b"\nlessons = 3', "glossary[1].lessons"),
        ('[[glossary]]\nterm = "a"\nmeans = "b"\nlessons = [[1]]', "glossary[1].lessons"),
    ):
        path.write_text(f"format = 1\n{body}\n")
        with pytest.raises(LessonError) as caught:
            check_course(path, [])
        assert str(caught.value).startswith(f"{path}: {field}: "), str(caught.value)


def test_fill_template_refuses_a_huge_width_on_its_own():
    from redisqueue_tutor.lessons.model import TemplateError, fill_template

    assert fill_template("{a:>5}|{a!r:.2}", {"a": "xy"}) == "   xy|'x"
    with pytest.raises(TemplateError, match=r"width or precision of 200000000 is too large"):
        fill_template("{a:>200000000}", {"a": "xy"})
    with pytest.raises(TemplateError, match=r"of 999999999999\.\.\. is too large"):
        fill_template("{a:.%s}" % ("9" * 5000), {"a": "xy"})


def test_what_a_message_quotes_from_the_file_stays_on_one_line(tmp_path: Path):
    path = tmp_path / "mini.toml"
    path.write_text(broken('title = "Mini"', 'title = "Mini"\n"a\\nb\\u001b[31m" = 1'))
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    assert str(caught.value) == (
        f"{path}: a\\nb\\x1b[31m: unknown field (check its spelling, or the lesson format in the"
        " README)"
    )
    path.write_text(broken("format = 1", "format = " + "9" * 300))
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    assert len(str(caught.value)) < len(str(path)) + 120  # the number is shortened, not quoted
