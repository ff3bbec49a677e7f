"""The room is the queue: every student's tutor is a worker on the class's shared list.

The teacher starts an exercise (`tutor class exercise rpop|lmove|pubsub`): a board entry every
joined student's class screen acts on. In rpop mode each student's tutor blocks on the class's
list with BRPOP, so each task goes to exactly one student, and a task whose student closes the
laptop mid-task is gone; in lmove mode BLMOVE moves it into the student's own working list first,
where it waits to be recovered (LMOVE back onto the queue); in pubsub mode the teacher PUBLISHes
and every student hears every message. Students report what they took, finished and heard as
events, so the teacher's side sees it once each, as it sees everything else.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from redisqueue_tutor.classroom.keys import BOARD_MAXLEN, CLASS_TTL, ClassError, ClassKeys
from redisqueue_tutor.classroom.link import class_server
from redisqueue_tutor.classroom.room import Exercise, Room, task_label
from redisqueue_tutor.classroom.teacher import Session

MODES = ("rpop", "lmove", "pubsub")
DEFAULT_TASKS = 20
WORK_SECONDS = (1.5, 3.5)  # how long a student's worker "works" on a task
STUCK_SECONDS = 8.0  # a task taken and not finished for this long: its student is gone
WAIT = 1  # seconds one BRPOP or BLMOVE waits, so that a worker can stop


def tasks_key(keys: ClassKeys) -> str:
    return keys.prefix + "room:tasks"


def working_key(keys: ClassKeys, member: str) -> str:
    return keys.prefix + f"room:working:{member}"


def channel(keys: ClassKeys) -> str:
    return keys.prefix + "room:news"


# --------------------------------------------------------------------------------------------------
# The teacher


def start(session: Session, mode: str, tasks: int) -> Exercise:
    """Announce an exercise to the room: every class screen starts its worker."""
    if mode not in MODES:
        raise ClassError(f"no exercise {mode!r}: use one of {', '.join(MODES)}")
    exercise_id = secrets.token_hex(3)
    # A new exercise starts from an empty queue: what the last one left (tasks nobody took,
    # tasks in a stopped student's working list) would go to the new workers.
    stale = [
        name
        for name in session.client.scan_iter(match=session.keys.pattern, count=1000)
        if name == tasks_key(session.keys) or name.startswith(working_key(session.keys, ""))
    ]
    if stale:
        session.client.unlink(*stale)
    entry = session.client.xadd(
        session.keys.board,
        {"kind": "exercise", "exercise": exercise_id, "mode": mode, "tasks": str(tasks)},
        maxlen=BOARD_MAXLEN,
        approximate=True,
    )
    return Exercise(exercise_id, mode, tasks, str(entry))


def send(session: Session, exercise: Exercise, gap: float = 0.2) -> list[int]:
    """Push the tasks (one LPUSH) or publish the messages, one every `gap` seconds; for pubsub,
    how many students each message reached (PUBLISH's reply)."""
    names = [f"{exercise.id}:task-{n:02}" for n in range(1, exercise.tasks + 1)]
    if exercise.mode != "pubsub":
        key = tasks_key(session.keys)
        with session.client.pipeline(transaction=True) as pipe:
            pipe.lpush(key, *names)
            pipe.expire(key, CLASS_TTL)
            pipe.execute()
        return []
    reached = []
    for name in names:
        reached.append(int(session.client.publish(channel(session.keys), name)))
        time.sleep(gap)
    return reached


def recover(session: Session, room: Room, now: float | None = None) -> list[str]:
    """Put back on the queue every task that waits in the working list of a student who stopped
    mid-task (LMOVE from their list to the queue's consuming end); the tasks moved."""
    exercise = room.exercise
    if exercise is None or exercise.mode != "lmove":
        raise ClassError("recovery is for the lmove exercise (`tutor class exercise lmove`)")
    moved: list[str] = []
    stuck = set(exercise.stuck(now if now is not None else time.time(), STUCK_SECONDS))
    for member in {m for t in stuck for m in exercise.takers[t]}:
        source = working_key(session.keys, member)
        while True:
            task = session.client.lmove(source, tasks_key(session.keys), "RIGHT", "RIGHT")
            if task is None:
                break
            moved.append(str(task))
    if moved:
        session.client.xadd(
            session.keys.board,
            {"kind": "recovered", "exercise": exercise.id, "tasks": " ".join(moved)},
            maxlen=BOARD_MAXLEN,
            approximate=True,
        )  # the room counts it when it reads the board, as every reader of the room does
    return moved


def where_tasks_are(session: Session, exercise: Exercise) -> dict[str, str]:
    """Each task not finished: "queue", or the member whose working list holds it, read from the
    server (one pipeline); a task in neither is nowhere (lost, in rpop mode)."""
    members = sorted({m for takers in exercise.takers.values() for m in takers})
    with session.client.pipeline(transaction=False) as pipe:
        pipe.lrange(tasks_key(session.keys), 0, -1)
        for member in members:
            pipe.lrange(working_key(session.keys, member), 0, -1)
        queued, *held = pipe.execute()
    found = {str(t): "queue" for t in queued}
    for member, tasks in zip(members, held, strict=True):
        found.update((str(t), member) for t in tasks)
    return found


def exercise_summary(session: Session, room: Room, now: float) -> RoomSummary:
    """Where every task of the room's exercise is now (or who heard what)."""
    exercise = room.exercise
    if exercise is None:
        return RoomSummary()
    places = where_tasks_are(session, exercise) if exercise.mode != "pubsub" else {}
    return room_summary(room, places, now)


@dataclass(frozen=True)
class RoomSummary:
    """Where every task is, or how many messages each student heard: what every screen shows."""

    rows: tuple[TaskRow, ...] = ()
    heard: dict[str, int] = field(default_factory=dict)  # name: messages heard (pubsub)


@dataclass(frozen=True)
class TaskRow:
    task: str  # task-07
    who: str  # the student's name, or ""
    state: str  # queued, working, done, lost, waiting (in a working list), twice, heard


def task_rows(room: Room, places: dict[str, str], now: float) -> list[TaskRow]:
    """Every task of the exercise and where it is, for the screens."""
    exercise = room.exercise
    if exercise is None or exercise.mode == "pubsub":
        return []
    names = {m: s.name for m, s in room.students.items()}
    stuck = set(exercise.stuck(now, STUCK_SECONDS))
    twice = set(exercise.twice())
    rows = []
    for number in range(1, exercise.tasks + 1):
        task = f"{exercise.id}:task-{number:02}"
        takers = exercise.takers.get(task, [])
        who = ", ".join(dict.fromkeys(names.get(m, "?") for m in takers))
        if task in twice:
            state = "twice"
        elif task in exercise.done:
            state, who = "done", names.get(exercise.done[task], "?")
        elif not takers or places.get(task) == "queue":
            state = "queued"
        elif task in stuck:
            state = "waiting" if task in places else "lost"
        else:
            state = "working"
        rows.append(TaskRow(task_label(task), who, state))
    return rows


# --------------------------------------------------------------------------------------------------
# A student's worker


@dataclass
class WorkerState:
    exercise: Exercise
    working: str = ""  # the task in hand
    since: float = 0.0
    done: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    gone: bool = False  # the laptop was closed
    problem: str = ""


class Worker:
    """A student's tutor as a worker of the exercise, on a connection of its own."""

    def __init__(
        self,
        url: str,
        keys: ClassKeys,
        member: str,
        exercise: Exercise,
        report: Callable[..., None],
    ) -> None:
        self.url, self.keys, self.member = url, keys, member
        self.state = WorkerState(exercise)
        self._report = report
        self._stop = threading.Event()
        self._crash = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tutor-class-worker", daemon=True)
        self._thread.start()

    def close_laptop(self) -> None:
        """Stop now, mid-task: no finish is reported, nothing is put back."""
        self.state.gone = True
        self._crash.set()
        self._stop.set()

    def stop(self) -> None:
        """Take no more tasks. The task in hand is finished if the tutor lives on; a tutor that
        ends now leaves it as a closed laptop would (nobody waits seconds for a screen to go)."""
        self._stop.set()
        self._thread.join(0.2)

    def _run(self) -> None:
        try:
            with class_server(self.url, self.keys) as client:
                if self.state.exercise.mode == "pubsub":
                    self._listen(client)
                else:
                    self._work(client)
        except (redis.RedisError, OSError, ClassError) as exc:
            self.state.problem = f"the worker stopped: {str(exc)[:80]}"

    def _work(self, client: redis.Redis) -> None:
        exercise = self.state.exercise
        queue = tasks_key(self.keys)
        mine = working_key(self.keys, self.member)
        while not self._stop.is_set():
            if exercise.mode == "lmove":
                task = client.blmove(queue, mine, WAIT, "RIGHT", "LEFT")
                if task is not None:
                    client.expire(mine, CLASS_TTL)  # the list this worker made goes with the class
            else:
                popped = client.brpop([queue], WAIT)
                task = popped[1] if popped else None
            if task is None:
                continue
            if not exercise.owns(str(task)):  # another exercise's: back where the next takes it
                if exercise.mode == "lmove":
                    client.lmove(mine, queue, "LEFT", "RIGHT")
                else:
                    client.rpush(queue, task)
                self._stop.wait(0.2)  # this worker is about to be replaced
                continue
            task = str(task)
            self.state.working, self.state.since = task, time.time()
            self._report("took", task=task)
            if self._crash.wait(random.uniform(*WORK_SECONDS)):
                return  # the laptop closed with the task in hand
            if exercise.mode == "lmove":
                client.lrem(mine, 1, task)  # finished: out of the working list
            self._report("done", task=task)
            self.state.done.append(task)
            self.state.working = ""

    def _listen(self, client: redis.Redis) -> None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel(self.keys))
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None or self._crash.is_set():
                    continue
                task = str(message["data"])
                if self.state.exercise.owns(task):
                    self.state.heard.append(task)
                    self._report("heard", task=task)
        finally:
            pubsub.close()


# --------------------------------------------------------------------------------------------------
# What every screen shows: the teacher's side tells the room


def room_summary(room: Room, places: dict[str, str], now: float) -> RoomSummary:
    """What the room's screens show now, from the events and where the tasks are."""
    exercise = room.exercise
    if exercise is None:
        return RoomSummary()
    heard = {room.students[m].name: len(h) for m, h in exercise.heard.items() if m in room.students}
    return RoomSummary(tuple(task_rows(room, places, now)), heard)


def summary_key(keys: ClassKeys) -> str:
    return keys.prefix + "room:summary"


def summary_text(exercise: Exercise, summary: RoomSummary) -> str:
    """Every student who got which task (or heard what), as the room's screens read it."""
    return json.dumps(
        {
            "exercise": exercise.id,
            "rows": [[r.task, r.who, r.state] for r in summary.rows],
            "heard": summary.heard,
        }
    )


def tell_the_room(session: Session, text: str) -> None:
    """Kept in one key, not on the board: the board keeps what happens, this changes by the
    second (a screen opened mid-exercise would find only this in the board's last entries)."""
    session.client.set(summary_key(session.keys), text, ex=CLASS_TTL)


def read_summary(text: str | None, exercise_id: str) -> RoomSummary | None:
    """The room's summary read back on a student's screen (checked: others wrote it)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        if data["exercise"] != exercise_id:
            return None
        rows = [TaskRow(str(t)[:20], str(w)[:60], str(s)[:10]) for t, w, s in data["rows"]]
        heard = {str(k)[:30]: int(v) for k, v in dict(data.get("heard", {})).items()}
    except (ValueError, KeyError, TypeError):
        return None
    return RoomSummary(tuple(rows[:100]), heard)
