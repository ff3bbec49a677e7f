"""The room is the queue, on the tests' own redis-server: students' tutors as workers on the
class's list (each a real client), one of them stopping mid-task."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from redisqueue_tutor.classroom import exercise as room_exercise
from redisqueue_tutor.classroom import student, teacher
from redisqueue_tutor.classroom.room import task_label

pytestmark = pytest.mark.real


def _class(redis_server, tmp_path: Path, students: int):
    url = redis_server.url
    opened = teacher.open_class(url, tmp_path / "t")
    members = [student.join(opened.code, f"S{n}", url, tmp_path / f"s{n}") for n in range(students)]
    reporters = [student.Reporter(tmp_path / f"s{n}") for n in range(students)]
    return opened, members, reporters


def _until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _room(opened, tmp_path: Path):
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        room = session.read()
        places = room_exercise.where_tasks_are(session, room.exercise)
    return room, places


@pytest.mark.parametrize("mode", ["rpop", "lmove"])
def test_every_task_goes_to_one_student_and_a_closed_laptop_loses_or_keeps_its_task(
    redis_server, tmp_path: Path, monkeypatch, mode: str
):
    monkeypatch.setattr(room_exercise, "WORK_SECONDS", (0.05, 0.15))
    opened, members, reporters = _class(redis_server, tmp_path, 5)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        started = room_exercise.start(session, mode, 20)
        workers = [
            room_exercise.Worker(m.url, m.keys, m.member, started, r.report)
            for m, r in zip(members, reporters, strict=True)
        ]
        room_exercise.send(session, started)
    # The first student closes the laptop as soon as a task is in hand.
    _until(lambda: workers[0].state.working != "")
    workers[0].close_laptop()
    dropped = workers[0].state.working
    _until(lambda: sum(len(w.state.done) for w in workers) == 19)
    for reporter in reporters:
        reporter.close(timeout=10)
    room, places = _room(opened, tmp_path)
    exercise = room.exercise
    assert exercise is not None and exercise.twice() == []
    assert sorted(exercise.takers) == [f"{started.id}:task-{n:02}" for n in range(1, 21)]
    assert all(len(takers) == 1 for takers in exercise.takers.values())
    assert set(exercise.done) == set(exercise.takers) - {dropped}
    rows = {r.task: r for r in room_exercise.task_rows(room, places, time.time() + 60)}
    if mode == "rpop":
        for worker in workers:  # no thread of this test outlives it
            worker.close_laptop()
        assert dropped not in places  # in no list: gone
        assert rows[task_label(dropped)].state == "lost"
        return
    assert places[dropped] == members[0].member  # it waits in the student's working list
    assert rows[task_label(dropped)].state == "waiting"
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        assert room_exercise.recover(session, session.read(), time.time() + 60) == [dropped]
    _until(lambda: any(dropped in w.state.done for w in workers[1:]))  # another student did it
    for worker in workers:
        worker.close_laptop()
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        room = session.read()
        assert room.exercise.twice() == []  # recovered, then taken: not "given twice"
        assert session.close() > 0
    assert not redis_server.client().exists(
        room_exercise.working_key(opened.keys, members[0].member)
    )


def test_with_pubsub_every_student_hears_every_message(redis_server, tmp_path: Path):
    opened, members, reporters = _class(redis_server, tmp_path, 4)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        started = room_exercise.start(session, "pubsub", 6)
        workers = [
            room_exercise.Worker(m.url, m.keys, m.member, started, r.report)
            for m, r in zip(members, reporters, strict=True)
        ]
        _until(
            lambda: (
                redis_server.client().pubsub_numsub(room_exercise.channel(opened.keys))[0][1] == 4
            )
        )
        reached = room_exercise.send(session, started, gap=0.01)
    assert reached == [4] * 6  # PUBLISH answered: four receivers, each time
    _until(lambda: all(len(w.state.heard) == 6 for w in workers))
    for worker, reporter in zip(workers, reporters, strict=True):
        worker.close_laptop()
        reporter.close(timeout=10)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        room = session.read()
        summary = room_exercise.exercise_summary(session, room, time.time())
        session.close()
    assert summary.heard == {"S0": 6, "S1": 6, "S2": 6, "S3": 6}


def test_a_task_recovered_twice_and_a_second_exercise_starts_clean(
    redis_server, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(room_exercise, "WORK_SECONDS", (30, 30))  # held until x
    opened, members, reporters = _class(redis_server, tmp_path, 3)

    def workers_for(started):
        return [
            room_exercise.Worker(m.url, m.keys, m.member, started, r.report)
            for m, r in zip(members, reporters, strict=True)
        ]

    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        leftover = room_exercise.start(session, "lmove", 30)
        room_exercise.send(session, leftover)  # nobody works on these: they stay on the queue
        started = room_exercise.start(session, "lmove", 1)
        assert not redis_server.client().exists(room_exercise.tasks_key(opened.keys))
        first, second, third = workers_for(started)
        room_exercise.send(session, started)
    task = f"{started.id}:task-01"
    holder = _holder((first, second, third))
    holder.close_laptop()
    _until(lambda: _takes(opened, tmp_path, task) == 1)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        assert room_exercise.recover(session, session.read(), time.time() + 60) == [task]
    again = _holder([w for w in (first, second, third) if w is not holder])
    again.close_laptop()
    _until(lambda: _takes(opened, tmp_path, task) == 2)
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        assert room_exercise.recover(session, session.read(), time.time() + 60) == [task]
        room = session.read()
        assert room.exercise.twice() == [] and room.exercise.recovered[task] == 2
    for worker in (first, second, third):
        worker.close_laptop()  # ends its thread now, task in hand or not
    for reporter in reporters:
        reporter.close(timeout=10)


def _holder(workers):
    """The worker that takes the task in hand."""
    _until(lambda: any(w.state.working for w in workers))
    return next(w for w in workers if w.state.working)


def _takes(opened, tmp_path: Path, task: str) -> int:
    with teacher.teaching(opened.code, base=tmp_path / "t") as session:
        return len(session.read().exercise.takers.get(task, []))
