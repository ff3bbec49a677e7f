"""A class on one Redis: what it asks of the server and of the teacher's computer.

    python benchmarks/classroom.py [--url redis://...] [--students 20] [--events 50]

Three figures, on a redis-server of our own (or --url):

1. Events per second one class sustains: `--students` threads, each a student's tutor (its own
   data folder, outbox written and fsynced before each send, its own connection) reporting
   `--events` steps as fast as it can. Baseline, in the same run: the same threads sending the
   same number of bare XADDs with redis-py, what the server takes from such clients at most.
2. The dashboard's refresh cost with 60 and 300 students: one refresh is reading what arrived
   since the last one (one new event per student) and drawing the frame at 80x24 and at 120x40.
   Given in milliseconds and as a share of the one second between refreshes.
3. Redis commands per student per minute, counted by the server (INFO stats): a student who sees
   a step every 5 s, answers a question every 10 s, and keeps the class screen open (one reading
   of the board a second) or steps through a lesson (the board watched for polls), against the
   server's own capacity.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
from redis_server import server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redisqueue_tutor.classroom import student, teacher
from redisqueue_tutor.classroom.link import class_server
from redisqueue_tutor.classroom.room import as_entries
from redisqueue_tutor.screens.classroom import DashboardView, dashboard_screen
from redisqueue_tutor.screens.console import Look


def _threads(count: int, work) -> float:
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def events_per_second(url: str, students: int, events: int, root: Path) -> tuple[float, float]:
    opened = teacher.open_class(url, root / "teacher")
    bases = [root / f"eps-{n}" for n in range(students)]
    for n, base in enumerate(bases):
        student.join(opened.code, f"Student {n}", url, base)

    def tutor(n: int) -> None:
        sender = student.Sender(bases[n])
        for step in range(events):
            student._change(
                bases[n],
                lambda f, step=step: student._add(f, "step", lesson="queue", step=step, total=7),
            )
            sender.send_pending()
        sender.close()

    def bare(n: int) -> None:
        client = redis.Redis.from_url(url)
        for step in range(events):
            client.xadd("bench:bare", {"member": f"{n:08x}", "step": str(step)})
        client.close()

    ours = _threads(students, tutor)
    base = _threads(students, bare)
    with teacher.teaching(opened.code, base=root / "teacher") as session:
        room = session.read()
        assert room.counted == students * (events + 1), room.counted
        session.close()
    redis.Redis.from_url(url).delete("bench:bare")
    total = students * events
    return total / ours, total / base


def refresh_cost(url: str, students: int, root: Path, rounds: int = 5) -> dict[str, float]:
    opened = teacher.open_class(url, root / "teacher")
    keys = opened.keys
    members = [f"{n:08x}" for n in range(students)]
    with class_server(url, keys) as client:
        pipe = client.pipeline(transaction=False)
        for n, member in enumerate(members):
            pipe.xadd(keys.events, {"member": member, "seq": "1", "kind": "join", "name": f"S{n}"})
        pipe.execute()
        costs: dict[str, list[float]] = {"read": [], "80x24": [], "120x40": [], "xrange": []}
        with teacher.teaching(opened.code, base=root / "teacher") as session:
            room = session.read()
            for round_ in range(rounds):
                pipe = client.pipeline(transaction=False)
                for member in members:  # one new event per student since the last refresh
                    pipe.xadd(
                        keys.events,
                        {"member": member, "seq": str(round_ + 2), "kind": "step",
                         "lesson": "queue", "step": str(round_ % 7 + 1), "total": "7"},
                    )  # fmt: skip
                pipe.execute()
                last = room.last_event
                began = time.perf_counter()
                as_entries(client.xrange(keys.events, min=f"({last}"))  # the bare read
                costs["xrange"].append(time.perf_counter() - began)
                began = time.perf_counter()
                session.read(room)
                costs["read"].append(time.perf_counter() - began)
                for width, height in ((80, 24), (120, 40)):
                    console = _console(width, height)
                    began = time.perf_counter()
                    view = DashboardView(room, "join", time.time(), footer="q quit")
                    frame, _pages = dashboard_screen(view, console, Look(False))
                    console.print(frame)
                    costs[f"{width}x{height}"].append(time.perf_counter() - began)
            assert room.counted == students * (rounds + 1)
            session.close()
    return {name: statistics.median(values) * 1000 for name, values in costs.items()}


def _console(width: int, height: int):
    from rich.console import Console

    return Console(width=width, height=height, file=io.StringIO(), color_system="truecolor")


def commands_per_minute(url: str, root: Path) -> dict[str, float]:
    """Commands the server counts for one student's reported event, one second of the class
    screen, and the join; scaled to the minute described in the module's docstring."""
    admin = redis.Redis.from_url(url)
    opened = teacher.open_class(url, root / "teacher")
    base = root / "cpm"

    def counted(work) -> int:
        before = int(admin.info("stats")["total_commands_processed"])
        work()
        return int(admin.info("stats")["total_commands_processed"]) - before - 1  # INFO itself

    join = counted(lambda: student.join(opened.code, "Ana", url, base))

    def one_step_reported() -> None:
        reporter = student.Reporter(base)
        for step in range(10):
            reporter.report("step", lesson="queue", step=step + 1, total=7)
            time.sleep(0.05)  # a learner's pace: each event sent on its own
        reporter.close()

    ten_events = counted(one_step_reported)
    keys = opened.keys
    with class_server(url, keys) as client:
        client.xread({keys.board: "0"})  # the connection made, as the open screen has it

        def one_second_of_screen() -> None:
            for _ in range(10):
                client.xread({keys.board: "$"}, count=100)
                client.exists(keys.meta)

        screen = counted(one_second_of_screen) / 10

    def five_seconds_of_a_lesson() -> None:  # the board watched for polls while stepping
        from redisqueue_tutor.classroom.board import BoardWatcher

        found = student.membership(base)
        assert found is not None
        watcher = BoardWatcher(found)
        time.sleep(5)
        watcher.stop()
        time.sleep(1.2)  # its last XREAD ends

    lesson = counted(five_seconds_of_a_lesson) / 5
    with teacher.teaching(opened.code, base=root / "teacher") as session:
        session.close()
    per_event = ten_events / 10  # a reporter's connection and handshake included
    minute = 12 * per_event + 6 * per_event + 60 * max(screen, lesson)
    return {
        "join": join,
        "per event": per_event,
        "per second of screen": screen,
        "per second of a lesson": lesson,
        "minute": minute,
    }


def server_capacity(url: str, seconds: float = 1.0) -> float:
    """Commands per second the server answers to one client doing EXISTS in pipelines of 100."""
    client = redis.Redis.from_url(url)
    count = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.exists("bench:none")
        pipe.execute()
        count += 100
    client.close()
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a Redis of your own (default: one started for the run)")
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tutor-class-bench-"))
    with server(args.url) as url:
        ours, bare = events_per_second(url, args.students, args.events, root)
        print(
            f"events/s one class sustains ({args.students} students x {args.events} events, "
            f"outbox fsynced per event): {ours:,.0f}; bare XADDs from the same threads: "
            f"{bare:,.0f} (ratio {ours / bare:.2f})"
        )
        for students in (60, 300):
            cost = refresh_cost(url, students, root)
            print(
                f"dashboard refresh, {students} students: read {cost['read']:.1f} ms (bare XRANGE "
                f"{cost['xrange']:.1f} ms), draw 80x24 {cost['80x24']:.1f} ms, 120x40 "
                f"{cost['120x40']:.1f} ms: {(cost['read'] + cost['120x40']) / 10:.1f}% of the "
                "1 s between refreshes"
            )
        cpm = commands_per_minute(url, root)
        capacity = server_capacity(url)
        print(
            f"commands per student: join {cpm['join']:.0f}, per event {cpm['per event']:.1f}, per "
            f"second of the class screen {cpm['per second of screen']:.1f}, per second of a "
            f"lesson (the board watched) {cpm['per second of a lesson']:.1f}; a minute (a step "
            f"every 5 s, an answer every 10 s, the busier of the two): {cpm['minute']:.0f}"
        )
        per_second = cpm["minute"] / 60
        print(
            f"60 students: {60 * per_second:,.0f} commands/s; this server answers "
            f"{capacity:,.0f}/s to one pipelining client ({60 * per_second / capacity:.1%})"
        )


if __name__ == "__main__":
    main()
