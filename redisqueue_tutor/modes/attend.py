"""A student's class screen: the teacher's polls, and the room exercise with the student's own
tutor as one of the workers. Ends with q (the student stays in the class) or when the teacher
closes the class."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import redis

from redisqueue_tutor.classroom.exercise import RoomSummary, Worker, read_summary, summary_key
from redisqueue_tutor.classroom.follow import board_presenting
from redisqueue_tutor.classroom.link import class_server, what_failed
from redisqueue_tutor.classroom.room import Exercise, as_entries, board_exercise, board_poll
from redisqueue_tutor.classroom.student import Membership, Reporter
from redisqueue_tutor.lessons.questions import LETTERS
from redisqueue_tutor.modes.follow import Following
from redisqueue_tutor.screens.classroom import PollCard, live_screen, poll_card, waiting_card
from redisqueue_tutor.screens.console import Console, Look, Renderable
from redisqueue_tutor.screens.exercise import worker_card
from redisqueue_tutor.screens.frame import draw, sep
from redisqueue_tutor.screens.keys import QUIT_KEYS, RESIZE, ReadKey

REFRESH = 1.0  # seconds between two readings of the board
HISTORY = 500  # board entries read when the screen opens: the poll, exercise or screen on now
NOTE = "q leaves this screen (you stay in the class: `tutor class leave` leaves it)"


@dataclass
class ClassScreen:
    """What a student's screen shows, from the board entries read so far."""

    member: Membership
    reporter: Reporter
    card: PollCard | None = None
    exercise: Exercise | None = None
    worker: Worker | None = None
    summary: RoomSummary = field(default_factory=RoomSummary)
    latest: str = ""  # "poll", "exercise" or "present": what the teacher sent last
    closed: bool = False
    problem: str = ""
    presenting: tuple[str, int, bool] | None = None  # the teacher's lesson, screen, pauses
    following: bool = False  # the student chose to see the teacher's screen here
    follower: Following | None = None

    def apply(self, entry_id: str, fields: dict[str, str]) -> None:
        kind = fields.get("kind")
        presenting = board_presenting(fields)
        if presenting is not None:
            self.presenting = presenting if presenting[0] else None
            self.latest = "present" if presenting[0] else self.latest
            if self.presenting is None:  # the presentation is over: the next one is chosen anew
                self.following = False
                self.stop_following()
        elif kind == "closed":
            self.closed = True
        elif kind == "exercise":
            self.exercise = board_exercise(fields, entry_id)
            self.summary = RoomSummary()
            self.latest = "exercise" if self.exercise else self.latest
        elif kind == "reveal" and self.card and fields.get("poll") == self.card.poll.id:
            answer = fields.get("answer", "")
            if answer.isdigit():
                self.card = replace(
                    self.card, answer=int(answer), explanation=fields.get("explanation", "")
                )
        else:
            poll = board_poll(fields)
            if poll is not None:
                self.card, self.latest = PollCard(poll), "poll"

    def start_worker(self) -> None:
        """The exercise on now gets this student's worker (a new exercise, a new worker)."""
        exercise = self.exercise
        if exercise is None or (self.worker and self.worker.state.exercise.id == exercise.id):
            return
        self.stop_worker()
        self.worker = Worker(
            self.member.url, self.member.keys, self.member.member, exercise, self.reporter.report
        )

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def stop_following(self) -> None:
        if self.follower is not None:
            self.follower.close()
            self.follower = None

    def key(self, key: str) -> None:
        if key in ("f", "F") and self.presenting is not None:
            self.following = not self.following  # leave the teacher, or join them again
            if not self.following:
                self.stop_following()
            return
        if key in ("x", "X") and self.latest == "exercise" and self.worker is not None:
            self.worker.close_laptop()
            return
        card = self.card
        if self.latest != "poll" or card is None or card.answer is not None:
            return  # a letter answers only the question on the screen
        if len(key) != 1:
            return
        if key.upper() in LETTERS and LETTERS.index(key.upper()) < len(card.poll.options):
            choice = LETTERS.index(key.upper())
            self.card = replace(card, chosen=choice)
            self.reporter.report(
                "vote", lesson=card.poll.lesson, question=card.poll.id, choice=choice
            )

    def _followed(self, console: Console, look: Look) -> Renderable | None:
        """The teacher's screen, run and drawn here, while the student follows."""
        if not self.following or self.presenting is None:
            return None
        lesson, index, pauses = self.presenting
        if self.follower is None or (self.follower.lesson_id, self.follower.pauses) != (
            lesson,
            pauses,
        ):
            self.stop_following()
            self.follower = Following(lesson, pauses=pauses, look=look)
        footer = f"Following the teacher{sep(look)}f stops following{sep(look)}q leaves"
        return self.follower.frame(index, console, look, footer)

    def frame(self, console: Console, look: Look) -> Renderable:
        if self.latest == "poll" and self.card is not None:  # a question comes first
            return poll_card(self.card, look, self.problem)
        followed = self._followed(console, look)
        if followed is not None:
            return followed
        width = console.size.width
        if self.latest == "present" and self.presenting is not None:
            note = self.follower.problem if self.follower else ""
            return waiting_card(
                self.member.code,
                self.member.name,
                note
                or f"The teacher is presenting {self.presenting[0]}: f follows on your screen"
                f" (f again leaves){sep(look)}q leaves this screen",
                look,
            )
        if self.latest == "exercise" and self.worker is not None:
            for compact in (False, True):  # the grid of tasks goes when the terminal is short
                card = worker_card(
                    self.worker.state,
                    self.member.keys,
                    self.member.member,
                    self.summary,
                    width=width,
                    look=look,
                    compact=compact,
                )
                if len(console.render_lines(card, console.options, pad=False)) < console.height:
                    break
            return card
        if self.latest == "poll" and self.card is not None:
            return poll_card(self.card, look, self.problem)
        return waiting_card(self.member.code, self.member.name, self.problem or NOTE, look)


def attend(
    member: Membership,
    console: Console,
    read_key: ReadKey,
    look: Look,
    reporter: Reporter,
    *,
    refresh: float = REFRESH,
) -> str:
    """A student's class screen until q or the end of the class: the teacher's polls appear (a
    letter answers, another changes it, the answer shows when revealed), and during a room
    exercise this tutor works on the class's queue (x closes the laptop mid-task).
    Returns why it ended: "left" or "closed"."""
    keys = member.keys
    screen = ClassScreen(member, reporter)
    with class_server(member.url, keys) as client, live_screen(console) as show:
        history = as_entries(client.xrevrange(keys.board, count=HISTORY))
        last = history[0][0] if history else "0-0"
        for entry_id, fields in reversed(history):
            screen.apply(entry_id, fields)
        next_read = time.monotonic() + refresh
        try:
            while not screen.closed:
                if screen.latest == "exercise":
                    screen.start_worker()
                show(screen.frame(console, look))
                key = read_key(max(0.05, min(next_read - time.monotonic(), 0.25)))
                if key in QUIT_KEYS:
                    return "left"
                screen.key(key)
                if time.monotonic() < next_read:
                    continue
                next_read = time.monotonic() + refresh
                try:
                    for entry_id, fields in as_entries(client.xread({keys.board: last}, count=100)):
                        last = entry_id
                        screen.apply(entry_id, fields)
                    screen.closed = screen.closed or not client.exists(keys.meta)
                    if screen.latest == "exercise" and screen.exercise is not None:
                        text = client.get(summary_key(keys))
                        found = read_summary(str(text) if text else None, screen.exercise.id)
                        screen.summary = found or screen.summary
                    screen.problem = reporter.problem  # an answer that could not be sent says so
                except (redis.RedisError, OSError) as exc:
                    screen.problem = f"the class is out of reach: {what_failed(exc)}; still trying"
        finally:
            screen.stop_worker()
            screen.stop_following()
    return "closed"


class ClassPolls:
    """The teacher's questions put to a student in the middle of `tutor step`: between two
    keys the poll takes the screen, a letter answers it, any key goes back to the lesson."""

    def __init__(self, member: Membership, reporter: Reporter) -> None:
        from redisqueue_tutor.classroom.board import BoardWatcher

        self.reporter = reporter
        self.watcher = BoardWatcher(member)

    def offer(self, console: Console, read_key: ReadKey, look: Look) -> bool:
        poll = self.watcher.take()
        if poll is None:
            return False
        card = PollCard(poll)
        back = "Esc goes back to the lesson without answering."
        while True:
            draw(console, poll_card(card, look, back, changeable=False))
            key = read_key()
            if key == RESIZE:
                continue
            if card.chosen is not None or key in QUIT_KEYS:
                return True  # the answer was shown: any key goes back
            if len(key) == 1 and key.upper() in LETTERS[: len(poll.options)]:
                card = replace(card, chosen=LETTERS.index(key.upper()))
                self.reporter.report(
                    "vote", lesson=poll.lesson, question=poll.id, choice=card.chosen
                )
                back = "Any key goes back to the lesson."

    def stop(self) -> None:
        self.watcher.stop()
