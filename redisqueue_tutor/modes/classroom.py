"""What the teacher and the students do in class: the live dashboard, and answering polls.

Both keep running when the server goes away: the dashboard says since when it cannot read the
room and keeps trying; a student's answers wait in their outbox (classroom/student.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import redis

from redisqueue_tutor.classroom.keys import ClassError
from redisqueue_tutor.classroom.link import class_server, unreachable
from redisqueue_tutor.classroom.room import Room, as_entries, board_poll
from redisqueue_tutor.classroom.student import Membership, Reporter
from redisqueue_tutor.classroom.teacher import Session
from redisqueue_tutor.lessons.questions import LETTERS
from redisqueue_tutor.screens.classroom import (
    DashboardView,
    PollCard,
    dashboard_screen,
    live_screen,
    poll_card,
    waiting_card,
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
DASHBOARD_KEYS = "r show the answer · n/p page · q quit (the class stays open)"
PLAIN_KEYS = "r show the answer | n/p page | q quit (the class stays open)"


def _problem(exc: BaseException, since: float) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(since))
    return (
        f"The server does not answer since {when} ({unreachable(exc)[:60]}); still trying. "
        "Students keep working and send their steps later."
    )


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
    answer, n/p turn the roster's pages. Returns the room as last read."""
    room = Room(session.teacher.code)
    page = 0
    problem = ""
    failing: float | None = None
    next_read = 0.0
    renewed = time.monotonic()
    footer = PLAIN_KEYS if look.plain else DASHBOARD_KEYS
    with live_screen(console) as show:
        while True:
            if time.monotonic() >= next_read:
                try:
                    session.read(room)  # ClassError once the class is closed: the end
                    if time.monotonic() - renewed > RENEW:
                        session.renew()
                        renewed = time.monotonic()
                    problem, failing = "", None
                except (redis.RedisError, OSError) as exc:
                    failing = failing or clock()
                    problem = _problem(exc, failing)
                next_read = time.monotonic() + refresh
            view = DashboardView(room, join, clock(), page, problem, footer)
            frame, pages = dashboard_screen(view, console, look)
            show(frame)
            key = read_key(max(0.05, next_read - time.monotonic()))
            if key in QUIT_KEYS:
                return room
            if key in ("r", "R"):
                try:
                    session.reveal(room)
                except ClassError as exc:
                    problem = str(exc)
                except (redis.RedisError, OSError) as exc:
                    problem = _problem(exc, clock())
            elif key in ("n", "N", " ", *RIGHT, *PAGE_DOWN):
                page = min(page + 1, pages - 1)
            elif key in ("p", "P", "b", *LEFT, *PAGE_UP):
                page = max(page - 1, 0)


# --------------------------------------------------------------------------------------------------
# A student's terminal


def _latest(client: redis.Redis, board: str) -> tuple[str, PollCard | None, bool]:
    """Where the board is: its last id, the poll on now (with its answer if shown), closed."""
    entries = as_entries(client.xrevrange(board, count=50))
    last = entries[0][0] if entries else "0-0"
    card: PollCard | None = None
    for _entry_id, fields in reversed(entries):
        card, closed = _apply(card, fields)
        if closed:
            return last, card, True
    return last, card, False


def _apply(card: PollCard | None, fields: dict[str, str]) -> tuple[PollCard | None, bool]:
    """The card after one board entry; True when the teacher closed the class."""
    kind = fields.get("kind")
    if kind == "closed":
        return card, True
    poll = board_poll(fields)
    if poll is not None:
        return PollCard(poll), False
    if kind == "reveal" and card is not None and fields.get("poll") == card.poll.id:
        try:
            answer = int(fields.get("answer", ""))
        except ValueError:
            return card, False
        return replace(card, answer=answer, explanation=fields.get("explanation", "")), False
    return card, False


def attend(
    member: Membership,
    console: Console,
    read_key: ReadKey,
    look: Look,
    reporter: Reporter,
    *,
    refresh: float = REFRESH,
) -> str:
    """A student's class screen until q or the end of the class: the teacher's polls appear,
    a letter answers (another letter changes the answer), the answer shows when revealed.
    Returns why it ended: "left" or "closed"."""
    keys = member.keys
    note = "q leaves this screen (you stay in the class: `tutor class leave` leaves it)"
    with class_server(member.url, keys) as client, live_screen(console) as show:
        last, card, closed = _latest(client, keys.board)
        problem = ""
        next_read = time.monotonic() + refresh
        while not closed:
            shown_note = problem or note
            show(
                poll_card(card, look, problem)
                if card is not None
                else waiting_card(member.code, member.name, shown_note, look)
            )
            key = read_key(max(0.05, next_read - time.monotonic()))
            if key in QUIT_KEYS:
                return "left"
            if (
                card is not None
                and card.answer is None
                and len(key) == 1
                and key.upper() in LETTERS
            ):
                choice = LETTERS.index(key.upper())
                if choice < len(card.poll.options):
                    card = replace(card, chosen=choice)
                    reporter.report(
                        "vote", lesson=card.poll.lesson, question=card.poll.id, choice=choice
                    )
            if time.monotonic() < next_read:
                continue
            next_read = time.monotonic() + refresh
            try:
                for entry_id, fields in as_entries(client.xread({keys.board: last}, count=100)):
                    last = entry_id
                    card, closed = _apply(card, fields)
                if not closed and not client.exists(keys.meta):
                    closed = True
                problem = reporter.problem  # an answer that could not be sent says so
            except (redis.RedisError, OSError) as exc:
                problem = f"the class is out of reach ({unreachable(exc)[:60]}); still trying"
    return "closed"
