"""What the teacher and the students do in class: the live dashboard, and answering polls.

Both keep running when the server goes away: the dashboard says since when it cannot read the
room and keeps trying; a student's answers wait in their outbox (classroom/student.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from redisqueue_tutor.classroom.exercise import (
    RoomSummary,
    exercise_summary,
    recover,
    summary_text,
    tell_the_room,
)
from redisqueue_tutor.classroom.keys import ClassError
from redisqueue_tutor.classroom.link import what_failed
from redisqueue_tutor.classroom.room import Room
from redisqueue_tutor.classroom.teacher import Session
from redisqueue_tutor.modes.poll_picker import Picker
from redisqueue_tutor.screens.classroom import (
    DashboardView,
    PickerView,
    dashboard_screen,
    live_screen,
    picker_panel,
)
from redisqueue_tutor.screens.console import Console, Look
from redisqueue_tutor.screens.keys import (
    LEFT,
    PAGE_DOWN,
    PAGE_UP,
    QUIT_KEYS,
    RIGHT,
    ReadKey,
)

REFRESH = 1.0  # seconds between two readings of the room (the issue asks at least once a second)
RENEW = 60.0  # seconds between two renewals of the class's expiry
NOTICE_SECONDS = 5.0
DASHBOARD_KEYS = "p poll · r answer · m mistakes · v recover · ←/→ page · q quit"
PLAIN_KEYS = "p poll | r answer | m mistakes | v recover | Left/Right page | q quit"


def _problem(exc: BaseException, since: float) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(since))
    return (
        f"The server does not answer since {when}: {what_failed(exc)}; still trying. "
        "Students keep working and send their steps later."
    )


class Dashboard:
    """The teacher's live view: reads the room, tells the room where the exercise's tasks are,
    and acts on the teacher's keys."""

    def __init__(self, session: Session, clock: Callable[[], float]) -> None:
        self.session = session
        self.clock = clock
        self.room = Room(session.teacher.code)
        self.summary: RoomSummary | None = None
        self.problem = ""
        self.notice = ""  # what a key did, shown for NOTICE_SECONDS
        self._notice_until = 0.0
        self._failing: float | None = None
        self._renewed = time.monotonic()
        self._told = ""
        self.picker: Picker | None = None  # `p`: choosing a question for the class
        # `m`: the leading misconception before the answer is shown (off: a projected screen
        # would tell the room which options are wrong)
        self.mistakes = False

    def refresh(self) -> None:
        try:
            self.session.read(self.room)  # ClassError once the class is closed: the end
            if time.monotonic() - self._renewed > RENEW:
                self.session.renew()
                self._renewed = time.monotonic()
            self._exercise()
            self.problem, self._failing = "", None
        except (redis.RedisError, OSError) as exc:
            self._failing = self._failing or self.clock()
            self.problem = _problem(exc, self._failing)

    def _exercise(self) -> None:
        exercise = self.room.exercise
        if exercise is None:
            return
        self.summary = exercise_summary(self.session, self.room, self.clock())
        text = summary_text(exercise, self.summary)
        if text != self._told:  # every student's screen shows who got which task
            tell_the_room(self.session, text)
            self._told = text

    def _tell(self, text: str) -> None:
        self.notice, self._notice_until = text, time.monotonic() + NOTICE_SECONDS

    @property
    def shown_problem(self) -> str:
        """The server's trouble, or else what the last key did (for a few seconds)."""
        if self.problem:
            return self.problem
        return self.notice if time.monotonic() < self._notice_until else ""

    def pick(self, key: str) -> None:
        """A key while the question picker is open: Enter asks, Esc closes it."""
        assert self.picker is not None
        outcome = self.picker.key(key)
        lesson = self.picker.lesson
        if outcome == "ask" and lesson is not None:
            question = lesson.questions[self.picker.question]
            try:
                self.session.ask(lesson.id, question)
                self.session.read(self.room)
                self.problem = ""
            except (redis.RedisError, OSError) as exc:
                self.problem = _problem(exc, self.clock())
        if outcome:
            self.picker = None

    def picker_view(self) -> PickerView:
        assert self.picker is not None
        lesson = self.picker.lesson
        questions = [(q.id, q.prompt) for q in lesson.questions] if lesson else []
        lesson_id = self.picker.lessons[self.picker.at]
        title = lesson.title if lesson else "(this lesson cannot be read)"
        return PickerView(lesson_id, title, questions, self.picker.question)

    def act(self, key: str) -> None:
        """r shows the poll's answer; v recovers the tasks of students who stopped mid-task."""
        try:
            if key in ("p", "P"):
                self.picker = Picker.for_room(self.room)
            elif key in ("m", "M"):
                self.mistakes = not self.mistakes
            elif key in ("r", "R"):
                self.session.reveal(self.room)
            elif key in ("v", "V"):
                moved = recover(self.session, self.room)
                self._tell(f"Recovered {len(moved)} task{'s' if len(moved) != 1 else ''}.")
        except ClassError as exc:
            self._tell(str(exc))
        except (redis.RedisError, OSError) as exc:
            self.problem = _problem(exc, self.clock())


def watch(
    session: Session,
    console: Console,
    read_key: ReadKey,
    look: Look,
    join: str,
    *,
    clock: Callable[[], float] = time.time,
    refresh: float = REFRESH,
) -> Room:
    """The live dashboard until q: reads the room every `refresh` seconds, r reveals the poll's
    answer, p picks a question for a poll, v recovers an exercise's tasks, ←/→ turn the roster's
    pages. Returns the room."""
    dashboard = Dashboard(session, clock)
    page = 0
    next_read = 0.0
    footer = PLAIN_KEYS if look.plain else DASHBOARD_KEYS
    with live_screen(console) as show:
        while True:
            if time.monotonic() >= next_read:
                dashboard.refresh()
                next_read = time.monotonic() + refresh
            if dashboard.picker is not None:
                rows = max(1, console.size.height - 4)
                show(picker_panel(dashboard.picker_view(), rows, look))
                dashboard.pick(read_key(max(0.05, next_read - time.monotonic())))
                continue
            view = DashboardView(
                dashboard.room,
                join,
                clock(),
                page,
                dashboard.shown_problem,
                footer,
                dashboard.summary,
                dashboard.mistakes,
            )
            frame, pages = dashboard_screen(view, console, look)
            show(frame)
            key = read_key(max(0.05, next_read - time.monotonic()))
            if key in QUIT_KEYS:
                return dashboard.room
            if key in ("n", "N", " ", *RIGHT, *PAGE_DOWN):
                page = min(page + 1, pages - 1)
            elif key in ("b", "B", *LEFT, *PAGE_UP):
                page = max(page - 1, 0)
            else:
                dashboard.act(key)
