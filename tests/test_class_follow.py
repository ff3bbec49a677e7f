"""Follow me: the presenter's screens reach the class's board, and a student who follows sees the
teacher's screen drawn by their own tutor; f leaves and joins the teacher again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from redisqueue_tutor.classroom import student, teacher
from redisqueue_tutor.classroom.follow import Broadcast
from redisqueue_tutor.classroom.room import as_entries
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.modes.attend import ClassScreen
from redisqueue_tutor.modes.present import beats
from redisqueue_tutor.screens.console import Look


def _text(console: Console, renderable) -> str:
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.real
def test_a_student_who_follows_sees_the_teachers_screen_and_can_leave_and_come_back(
    redis_server, tmp_path: Path
):
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    member = student.join(opened.code, "Ana", url, tmp_path / "ana")
    plan = (None, *beats(find_lesson("queue"), pauses=True))  # the title slide first
    index = next(i for i, b in enumerate(plan) if b and b.step == 3 and b.reveal)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        told = Broadcast(session, "queue", pauses=True)
        for shown in (0, 1, index, index):  # the same screen twice is told once
            told(shown)
        entries = as_entries(session.client.xrange(opened.keys.board))
    assert [f["beat"] for _i, f in entries] == ["0", "1", str(index)]

    screen = ClassScreen(member, reporter=None)  # type: ignore[arg-type]
    for entry_id, fields in entries:
        screen.apply(entry_id, fields)
    look = Look(plain=True)
    console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
    assert "The teacher is presenting queue: f follows" in _text(
        console, screen.frame(console, look)
    )
    screen.key("f")
    try:
        console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
        shown = _text(console, screen.frame(console, look))
        assert "Step 3 of 7" in shown and "Following the teacher" in shown
        screen.key("f")  # leaves the teacher
        assert screen.follower is None
        console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
        assert "Step 3 of 7" not in _text(console, screen.frame(console, look))
    finally:
        screen.stop_following()
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        Broadcast(session, "queue", pauses=True).end()
        last_id, last = as_entries(session.client.xrevrange(opened.keys.board, count=1))[0]
        session.close()
    screen.apply(last_id, last)
    assert screen.presenting is None


def test_only_a_lesson_this_tutor_has_is_followed(tmp_path: Path):
    from redisqueue_tutor.modes.follow import Following

    planted = tmp_path / "evil.toml"  # a path on the board would run the file's program
    planted.write_text((Path(__file__).parent.parent / "lessons" / "queue.toml").read_text())
    for named in (str(planted), "../evil", "no-such-lesson"):
        following = Following(named, pauses=True, look=Look(plain=True))
        assert "a lesson this tutor does not have" in following.problem
        console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
        assert following.frame(1, console, Look(plain=True), "") is None
