"""A class on one real redis-server: a teacher, many students (each a real client), polls,
connections cut mid-class, and a server left as it was found."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from rich.console import Console
from typer.testing import CliRunner

from redisqueue_tutor.classroom import exercise as room_exercise
from redisqueue_tutor.classroom import student, teacher
from redisqueue_tutor.classroom.events import BadEvent, Event, decode
from redisqueue_tutor.classroom.keys import ClassError, ClassKeys
from redisqueue_tutor.classroom.link import class_server
from redisqueue_tutor.classroom.report import as_csv, as_markdown
from redisqueue_tutor.classroom.room import Poll, Room
from redisqueue_tutor.cli import app
from redisqueue_tutor.keyspace.refused import Refused
from redisqueue_tutor.lessons import find_lesson
from redisqueue_tutor.screens.classroom import DashboardView, dashboard_screen
from redisqueue_tutor.screens.console import Look
from tests.conftest import ROOT

runner = CliRunner()
QUEUE = find_lesson("queue")


def _snapshot(client) -> dict[bytes, bytes]:
    """Every key of the tests' own server with its value (SCAN and DUMP; the tests' server only)."""
    return {name: client.dump(name) for name in client.scan_iter(count=1000)}


@pytest.mark.real
def test_sixty_students_join_step_and_answer_and_the_dashboard_counts_what_was_sent(
    redis_server, tmp_path: Path
):
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "teacher")
    with teacher.teaching(opened.code, base=tmp_path / "teacher") as session:
        question = QUEUE.questions[0]
        poll = session.ask("queue", question)
    votes: dict[str, int] = {}
    failures: list[BaseException] = []

    def one_student(number: int) -> None:
        base = tmp_path / f"s{number}"
        try:
            student.join(opened.code, f"Student {number}", url, base)
            reporter = student.Reporter(base)
            for step in (1, 2, 3):
                reporter.report("step", lesson="queue", step=step, total=7)
            choice = number % len(question.options)
            reporter.report("vote", lesson="queue", question=poll.id, choice=choice)
            votes[f"Student {number}"] = choice
            assert reporter.close(timeout=20) == ""
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one_student, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    with teacher.teaching(opened.code, base=tmp_path / "teacher") as session:
        room = session.read()
    assert len(room.students) == 60
    assert room.counted == 60 * 5  # join, three steps, one vote each
    assert room.duplicates == room.ignored == 0
    assert all((s.lesson, s.step, s.total) == ("queue", 3, 7) for s in room.students.values())
    shown = room.poll()
    assert shown is not None and shown.id == poll.id
    expected = [list(votes.values()).count(i) for i in range(len(question.options))]
    assert shown.histogram() == expected
    wrong = [c for c in votes.values() if c != question.answer_index]
    mistake, many = shown.leading_misconception()
    assert many == max(wrong.count(c) for c in set(wrong))
    assert mistake in {question.options[c].misconception for c in wrong}
    for number in range(60):  # nothing waits in any outbox
        found = student.membership(tmp_path / f"s{number}")
        assert found is not None and found.pending == ()


@pytest.mark.real
def test_a_cut_connection_loses_nothing_and_a_resend_counts_once(
    redis_server, tmp_path: Path, monkeypatch
):
    url = redis_server.url
    base_t, base_s = tmp_path / "teacher", tmp_path / "ana"
    opened = teacher.open_class(url, base_t)
    student.join(opened.code, "Ana", url, base_s)
    reporter = student.Reporter(base_s)
    reporter.report("step", lesson="queue", step=1, total=7)
    assert reporter.close(timeout=10) == ""
    admin = redis_server.client()

    # The server took these events, but the student's tutor never heard so (the reply was lost
    # with the connection): they stay in its outbox and are sent again.
    sender = student.Sender(base_s)
    for step in (2, 3):
        student._change(
            base_s, lambda f, step=step: student._add(f, "step", lesson="queue", step=step, total=7)
        )
    waiting = student.membership(base_s)
    assert waiting is not None and len(waiting.pending) == 2
    with class_server(url, opened.keys) as client:
        student._send(client, opened.keys, waiting.pending)

    # The server cuts the connection: the next send reconnects.
    assert sender.send_pending() == 2  # sends the two again
    student._change(base_s, lambda f: student._add(f, "step", lesson="queue", step=4, total=7))
    for info in admin.client_list():
        if int(info["id"]) != admin.client_id():
            admin.client_kill_filter(_id=int(info["id"]))
    assert sender.send_pending() == 1
    sender.close()

    # Wi-Fi gone: the server cannot be reached at all. The student keeps working; their steps
    # wait in the outbox and leave it once the server is back.
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{closed_port.getsockname()[1]}/0"
    student._change(base_s, lambda f: replace(f, url=dead))
    reporter = student.Reporter(base_s)
    reporter.report("step", lesson="queue", step=5, total=7)
    reporter.report("step", lesson="queue", step=6, total=7)
    assert "out of reach" in reporter.close(timeout=10)
    assert [e.step for e in student.membership(base_s).pending] == [5, 6]
    student._change(base_s, lambda f: replace(f, url=url))
    monkeypatch.setenv("TUTOR_DATA_DIR", str(base_s))
    status = runner.invoke(app, ["class", "status"])
    assert (
        status.stdout.strip()
        == f"You are Ana in class {opened.code}. Sent the 2 events that waited."
    )
    assert student.membership(base_s).pending == ()

    with teacher.teaching(opened.code, base=base_t) as session:
        room = session.read()
    ana = next(iter(room.students.values()))
    assert ana.step == 6
    assert ana.seq == 7  # join, steps 1 to 6: each counted once
    assert room.counted == 7
    assert room.duplicates == 2


@pytest.mark.real
def test_close_removes_every_key_of_the_class_and_nothing_else(redis_server, tmp_path: Path):
    admin = redis_server.client()
    admin.set("foreign", "keep me")
    admin.rpush("tutor:class:{owl-10}:events", "another class's")  # not this class's
    admin.hset("tutor:{1234abcd}:queue", "a", "1")
    before = _snapshot(admin)
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    student.join(opened.code, "Ana", url, tmp_path / "a")
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        session.ask("queue", QUEUE.questions[0])
        session.reveal(session.read())
        assert admin.ttl(opened.keys.events) > 0  # every key of a class expires by itself
        assert session.close() >= 5
    assert _snapshot(admin) == before
    for name in before:
        admin.delete(name)


@pytest.mark.real
def test_the_class_client_names_only_the_class_keys(redis_server):
    keys = ClassKeys("fox-42")
    with class_server(redis_server.url, keys) as client:
        with pytest.raises(Refused):
            client.get("foreign")
        with pytest.raises(Refused):
            client.get("tutor:class:{owl-10}:meta")
        with pytest.raises(Refused):
            client.flushdb()


@pytest.mark.real
def test_a_vote_after_the_answer_is_shown_does_not_count_however_the_room_is_read(
    redis_server, tmp_path: Path
):
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    for name in ("Ana", "Ben"):
        student.join(opened.code, name, url, tmp_path / name)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        poll = session.ask("queue", QUEUE.questions[0])
    right = QUEUE.questions[0].answer_index

    def vote(name: str) -> None:
        reporter = student.Reporter(tmp_path / name)
        reporter.report("vote", lesson="queue", question=poll.id, choice=right)
        assert reporter.close(timeout=10) == ""

    vote("Ana")
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        session.reveal(session.read())
    vote("Ben")
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        room = session.read()  # a fresh read: the reveal is read before the votes
    assert room.poll().histogram()[right] == 1
    answers = {
        s.name: [(a.question, a.correct, a.source) for a in s.answers] for s in room.roster()
    }
    assert answers == {"Ana": [(QUEUE.questions[0].id, True, "poll")], "Ben": []}


@pytest.mark.real
def test_the_class_commands_piped_from_open_to_close(redis_server, tmp_path: Path, monkeypatch):
    url = redis_server.url
    teacher_dir, ana_dir = str(tmp_path / "t"), str(tmp_path / "a")

    def tutor(data: str, *args: str, input: str | None = None):
        monkeypatch.setenv("TUTOR_DATA_DIR", data)
        return runner.invoke(app, list(args), input=input)

    opened = tutor(teacher_dir, "class", "open", "--redis-url", url)
    assert opened.exit_code == 0, opened.output
    code = opened.stdout.splitlines()[0]
    assert f"tutor class join {code} --name NAME --redis-url {url}" in opened.stdout
    monkeypatch.setenv("TUTOR_CLASS", code)
    monkeypatch.setenv("TUTOR_REDIS_URL", url)
    joined = tutor(ana_dir, "class", "join", "--name", "Ana")
    assert joined.exit_code == 0 and f"Joined class {code} as Ana" in joined.stdout
    taken = tutor(str(tmp_path / "b"), "class", "join", "--name", "ANA")
    assert taken.exit_code == 2
    assert (
        taken.stderr.strip()
        == f"Error: the name 'ANA' is taken in class {code}; choose another --name"
    )
    quiz = tutor(
        ana_dir, "quiz", "queue", "--count", "3", "--seed", "4", "--no-shuffle", input="A\nA\nA\n"
    )
    assert quiz.exit_code == 0, quiz.output
    asked = tutor(teacher_dir, "class", "ask", "queue", QUEUE.questions[0].id)
    assert asked.exit_code == 0, asked.output
    status = tutor(teacher_dir, "class", "status", "--plain")
    assert status.exit_code == 0
    assert "Ana" in status.stdout and "0 of 1 answered" in status.stdout
    assert tutor(ana_dir, "class", "status").stdout.strip() == f"You are Ana in class {code}."
    report = tutor(teacher_dir, "class", "report", "--format", "csv")
    rows = list(csv.reader(io.StringIO(report.stdout)))
    assert rows[0] == ["student", "lesson", "question", "asked as", "right", "misconception"]
    assert len(rows) == 4 and {r[0] for r in rows[1:]} == {"Ana"}
    markdown = tutor(
        teacher_dir, "class", "report", "--format", "md", "--output", str(tmp_path / "r.md")
    )
    assert markdown.exit_code == 0 and (tmp_path / "r.md").read_text().startswith(f"# Class {code}")
    declined = tutor(teacher_dir, "class", "close", input="n\n")
    assert declined.exit_code == 2
    closed = tutor(teacher_dir, "class", "close", "--yes")
    assert closed.exit_code == 0 and f"Closed class {code}" in closed.stdout
    again = tutor(str(tmp_path / "c"), "class", "join", "--name", "Cy")
    assert again.exit_code == 2
    assert "there is no open class" in again.stderr and "Traceback" not in again.output
    gone = tutor(teacher_dir, "class", "dashboard", code)
    assert gone.exit_code == 2 and "this computer did not open class" in gone.stderr


@pytest.mark.real
def test_another_secret_is_not_the_teacher(redis_server, tmp_path: Path, monkeypatch):
    opened = teacher.open_class(redis_server.url, tmp_path / "t")
    monkeypatch.setenv(teacher.ENV_SECRET, "not-the-secret")
    elsewhere = teacher.teaching(opened.code, redis_server.url, base=tmp_path / "elsewhere")
    with pytest.raises(ClassError, match="is not the one this secret opened"), elsewhere:
        pass
    monkeypatch.setenv(teacher.ENV_SECRET, opened.secret)
    with teacher.teaching(opened.code, redis_server.url, base=tmp_path / "elsewhere") as session:
        assert session.close() >= 2


def test_class_commands_need_a_server_every_student_reaches(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TUTOR_REDIS_URL", raising=False)
    result = runner.invoke(app, ["class", "open"])
    assert result.exit_code == 2
    assert "a class needs a Redis every student can reach" in result.stderr
    for args in (
        ["class", "join", "fox-4", "--name", "Ana", "--redis-url", "redis://x"],
        ["class", "join", "fox-42", "--name", "\x1b[2J", "--redis-url", "redis://x"],
        ["class", "report", "--format", "xml"],
        ["class", "dashboard"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"member": "ZZZZZZZZ", "seq": "1", "kind": "join"},
        {"member": "0123abcd", "seq": "0", "kind": "join"},
        {"member": "0123abcd", "seq": "1", "kind": "drop-tables"},
        {"member": "0123abcd", "seq": "1", "kind": "join", "name": "x" * 500},
        {"member": "0123abcd", "seq": "1", "kind": "join", "name": "\x1b[2J"},
        {"member": "0123abcd", "seq": "99999999999", "kind": "step"},
        {"member": "0123abcd", "seq": "1", "kind": "step", "at": "nan"},
    ],
)
def test_an_entry_no_tutor_sends_is_refused(fields):
    with pytest.raises(BadEvent):
        decode(fields)


def test_a_room_counts_each_event_once_and_ignores_what_it_cannot_read():
    room = Room("fox-42")
    events = [
        Event("0123abcd", 1, "join", 1.0, name="Ana"),
        Event("0123abcd", 2, "step", 2.0, lesson="queue", step=2, total=7),
        Event("0123abcd", 2, "step", 2.0, lesson="queue", step=2, total=7),  # sent again
        Event("89abcdef", 1, "step", 2.0, lesson="queue", step=1, total=7),  # never joined
    ]
    entries = [(f"{n}-0", e.fields()) for n, e in enumerate(events, start=1)]
    entries.append(("9-0", {"kind": "join"}))
    assert room.fold_events(entries) == 2
    assert (room.counted, room.duplicates, room.ignored) == (2, 1, 2)
    assert room.students["0123abcd"].step == 2


def _room(students: int) -> Room:
    room = Room("fox-42")
    room.fold_events(
        [
            (f"{n + 1}-0", Event(f"{n:08x}", 1, "join", 1.0, name=f"Student {n:02}").fields())
            for n in range(students)
        ]
    )
    return room


@pytest.mark.parametrize(("width", "height"), [(80, 24), (60, 14), (120, 40)])
def test_the_dashboard_fits_the_terminal_a_page_at_a_time(width: int, height: int):
    room = _room(60)
    question = QUEUE.questions[0]
    options = [o.text for o in question.options]
    room.polls["p1"] = Poll("p1", "queue", question.id, question.prompt, options, 1.0)
    room.current = "p1"
    console = Console(width=width, height=height, file=io.StringIO(), color_system=None)
    seen: set[str] = set()
    page, pages = 0, 1
    while page < pages:
        view = DashboardView(
            room, "tutor class join fox-42 --name NAME", 100.0, page, footer="q quit"
        )
        frame, pages = dashboard_screen(view, console, Look(False))
        lines = console.render_lines(frame, console.options, pad=False)
        assert len(lines) <= height
        text = "\n".join("".join(s.text for s in line) for line in lines)
        seen |= {f"Student {n:02}" for n in range(60) if f"Student {n:02}" in text}
        assert "q quit" in text and "Poll queue/" in text
        page += 1
    assert pages > 1 and len(seen) == 60


def test_the_dashboard_says_how_big_it_needs_to_be():
    console = Console(width=50, height=10, file=io.StringIO(), color_system=None)
    frame, _ = dashboard_screen(DashboardView(_room(3), "join", 1.0), console, Look(True))
    console.print(frame)
    assert "Make the terminal at least 60x14 (it is 50x10)" in console.file.getvalue()


def test_report_cells_are_text_in_a_spreadsheet_and_markdown():
    room = Room("fox-42")
    room.fold_events([("1-0", Event("0123abcd", 1, "join", 1.0, name="=HYPERLINK(1)|x").fields())])
    assert "'=HYPERLINK(1)|x" in as_csv(room)
    assert "=HYPERLINK(1)\\|x" in as_markdown(room)


def _readme_acl(code: str, password: str) -> list[str]:
    """The README's ACL SETUSER line for a class's students, as words."""
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("ACL SETUSER class-CODE"))
    return line.replace("CODE", code).replace("PASSWORD", password).split()


@pytest.mark.real
def test_a_students_acl_user_reports_and_answers_but_reads_nobody_elses_results(
    redis_server, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(room_exercise, "WORK_SECONDS", (0.05, 0.1))
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    admin = redis_server.client()
    user = f"class-{opened.code}"
    admin.execute_command(*_readme_acl(opened.code, "pupil-pw"))
    try:
        mine = url.replace("redis://", f"redis://{user}:pupil-pw@")
        student.join(opened.code, "Ben", url, tmp_path / "ben")  # another student's results
        reporter = student.Reporter(tmp_path / "ben")
        reporter.report("answer", lesson="queue", question="fifo-shape", misconception="secret")
        assert reporter.close(timeout=10) == ""
        with teacher.teaching(opened.code, base=tmp_path / "t") as session:
            poll = session.ask("queue", QUEUE.questions[0])

        student.join(opened.code, "Ana", mine, tmp_path / "ana")
        reporter = student.Reporter(tmp_path / "ana")
        reporter.report("step", lesson="queue", step=2, total=7)
        reporter.report("vote", lesson="queue", question=poll.id, choice=1)
        assert reporter.close(timeout=10) == ""
        pupil = redis.Redis.from_url(mine, decode_responses=True)
        keys = opened.keys
        assert pupil.xrevrange(keys.board, count=1)[0][1]["poll"] == poll.id  # the board: yes
        for forbidden in (
            lambda: pupil.xrange(keys.events),
            lambda: pupil.xread({keys.events: "0"}),
            lambda: pupil.hgetall(keys.names),
            lambda: pupil.hget(keys.names, "ben"),
            lambda: pupil.hgetall(keys.polls),
            lambda: pupil.get(keys.owner),
            lambda: pupil.xadd(keys.board, {"kind": "reveal"}),
            lambda: pupil.delete(keys.events),
            lambda: pupil.xread({"tutor:class:{owl-10}:board": "0"}),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                forbidden()
        pupil.close()
        ana = student.membership(tmp_path / "ana")
        reporter = student.Reporter(tmp_path / "ana")
        with teacher.teaching(opened.code, base=tmp_path / "t") as session:
            for mode in ("lmove", "rpop"):  # the room exercise, as this user
                started = room_exercise.start(session, mode, 2)
                worker = room_exercise.Worker(mine, keys, ana.member, started, reporter.report)
                room_exercise.send(session, started)
                deadline = time.monotonic() + 20
                while len(worker.state.done) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                worker.stop()
                assert len(worker.state.done) == 2 and not worker.state.problem, worker.state
        assert reporter.close(timeout=10) == ""
        with teacher.teaching(opened.code, base=tmp_path / "t") as session:
            room = session.read()
            assert {s.name: s.seq for s in room.students.values()} == {"Ana": 11, "Ben": 2}
            assert room.poll().votes and session.close() >= 5
    finally:
        admin.acl_deluser(user)


@pytest.mark.real
def test_leaving_and_joining_again_is_the_same_student_and_a_second_reveal_changes_nothing(
    redis_server, tmp_path: Path
):
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    first = student.join(opened.code, "Ana", url, tmp_path / "ana")
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        poll = session.ask("queue", QUEUE.questions[0])
    student.leave(tmp_path / "ana")
    again = student.join(opened.code, "ana", url, tmp_path / "ana")
    assert again.member == first.member
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        session.reveal(session.read())
    reporter = student.Reporter(tmp_path / "ana")
    reporter.report("vote", lesson="queue", question=poll.id, choice=0)
    assert reporter.close(timeout=10) == ""
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        session.reveal(session.read())  # again: the votes that count still end at the first
        room = session.read()
        assert room.poll().votes == {} and len(room.students) == 1
        assert redis_server.client().xlen(opened.keys.board) == 2  # one poll, one reveal
        session.close()
    with (
        pytest.raises(ClassError, match="is closed or has expired"),
        teacher.teaching(opened.code, url, base=tmp_path / "t"),
    ):
        pass


@pytest.mark.real
def test_a_reporter_sends_what_waited_once_the_server_is_back_without_a_new_event(
    redis_server, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(student, "RETRY_SECONDS", 0.2)
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    student.join(opened.code, "Ana", url, tmp_path / "ana")
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{closed_port.getsockname()[1]}/0"
    student._change(tmp_path / "ana", lambda f: replace(f, url=dead))
    reporter = student.Reporter(tmp_path / "ana")
    reporter.report("step", lesson="queue", step=1, total=7)
    deadline = time.monotonic() + 10
    while "out of reach" not in reporter.problem and time.monotonic() < deadline:
        time.sleep(0.05)
    student._change(tmp_path / "ana", lambda f: replace(f, url=url))  # the Wi-Fi is back
    while student.membership(tmp_path / "ana").pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert student.membership(tmp_path / "ana").pending == ()
    assert reporter.close() == ""


def test_the_poll_picker_opens_on_the_lesson_most_of_the_room_is_on():
    from redisqueue_tutor.modes.poll_picker import Picker

    room = _room(3)
    for n, lesson in enumerate(["streams", "streams", "queue"]):
        room.students[f"{n:08x}"].lesson = lesson
    picker = Picker.for_room(room)
    assert picker.lessons[picker.at] == "streams"
    assert picker.key("\x1b[B") == "" and picker.question == 1
    assert picker.key("\x1b[A") == "" and picker.question == 0
    assert picker.key("\x1b[C") == "" and picker.lessons[picker.at] != "streams"
    assert picker.key("\r") == "ask"
    assert picker.key("\x1b") == "cancel"


@pytest.mark.real
def test_a_poll_takes_the_screen_of_a_student_in_the_middle_of_a_lesson(
    redis_server, tmp_path: Path
):
    from redisqueue_tutor.modes.attend import ClassPolls

    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    member = student.join(opened.code, "Ana", url, tmp_path / "ana")
    reporter = student.Reporter(tmp_path / "ana")
    polls = ClassPolls(member, reporter)
    console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
    keys = iter(["B", "\r"])
    try:
        assert polls.offer(console, lambda timeout=None: next(keys), Look(True)) is False
        with teacher.teaching(opened.code, base=tmp_path / "t") as session:
            poll = session.ask("queue", QUEUE.questions[0])
        deadline = time.monotonic() + 10
        while not polls.offer(console, lambda timeout=None: next(keys), Look(True)):
            assert time.monotonic() < deadline, "the poll never reached the lesson"
            time.sleep(0.05)
    finally:
        polls.stop()
    shown = console.file.getvalue()
    assert QUEUE.questions[0].prompt[:40] in shown and "Any key goes back to the lesson." in shown
    assert reporter.close(timeout=10) == ""
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        room = session.read()
        assert room.polls[poll.id].votes == {member.member: 1}
        session.close()


def test_the_leading_misconception_shows_before_the_answer_only_when_asked():
    room = _room(3)
    question = QUEUE.questions[0]
    options = [o.text for o in question.options]
    poll = Poll("p1", "queue", question.id, question.prompt, options, 1.0)
    poll.answer = question.answer_index
    poll.misconceptions = [o.misconception for o in question.options]
    wrong = next(i for i in range(len(options)) if i != question.answer_index)
    poll.votes = {member: wrong for member in room.students}
    room.polls["p1"], room.current = poll, "p1"
    shown = {}
    for mistakes in (False, True):
        console = Console(width=100, height=40, file=io.StringIO(), color_system=None)
        view = DashboardView(room, "join", 1.0, mistakes=mistakes)
        console.print(dashboard_screen(view, console, Look(True))[0])
        shown[mistakes] = console.file.getvalue()
    assert "Most of the wrong answers" not in shown[False]
    assert f"Most of the wrong answers: {question.options[wrong].misconception}" in shown[True]


def test_a_poll_may_take_the_screen_in_the_middle_of_a_quiz():
    from redisqueue_tutor.modes.quiz import KeyAnswers

    class OnePoll:
        offered = 0

        def offer(self, console, read_key, look) -> bool:
            self.offered += 1
            return self.offered == 2  # nothing the first second, a poll the next

    keys = iter(["", "", "", "B"])  # two quiet seconds, the redraw after the poll, then B
    console = Console(width=80, height=24, file=io.StringIO(), color_system=None)
    answers = KeyAnswers(console, lambda timeout=None: next(keys), Look(True))
    answers.interruption = poll = OnePoll()
    from redisqueue_tutor.modes.step import next_key

    assert next_key(console, answers.read_key, Look(True), poll) == ""  # redraw: the poll was shown
    assert next_key(console, answers.read_key, Look(True), poll) == "B"
