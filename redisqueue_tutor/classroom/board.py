"""A joined student's tutor, while it steps through a lesson, watching the class's board for the
teacher's questions: a thread reads the board (XREAD, blocking a second at a time) and keeps the
newest poll not shown yet, for the lesson's screen to put to the student."""

from __future__ import annotations

import threading
import time

import redis

from redisqueue_tutor.classroom.keys import ClassError
from redisqueue_tutor.classroom.link import BackendError, class_server
from redisqueue_tutor.classroom.room import Poll, as_entries, board_poll
from redisqueue_tutor.classroom.student import Membership

BLOCK_MS = 1_000  # one XREAD waits this long, so that the thread can stop
RETRY_SECONDS = 5.0  # after the server went away


class BoardWatcher:
    def __init__(self, member: Membership) -> None:
        self.member = member
        self._pending: Poll | None = None
        # Where the board is now, read before this returns: a question asked from here on is
        # this lesson's (read in the thread, a question asked meanwhile would pass unseen).
        self._last = self._now_on_board()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tutor-class-board", daemon=True)
        self._thread.start()

    def take(self) -> Poll | None:
        """The teacher's newest question not shown yet (then it counts as shown), or None."""
        with self._lock:
            poll, self._pending = self._pending, None
        return poll

    def stop(self) -> None:
        self._stop.set()

    def _now_on_board(self) -> str:
        try:
            with class_server(self.member.url, self.member.keys) as client:
                newest = as_entries(client.xrevrange(self.member.keys.board, count=1))
                return newest[0][0] if newest else "0-0"
        except (redis.RedisError, OSError, BackendError, ClassError):
            return f"{int(time.time() * 1000)}-0"  # this computer's clock, near the server's

    def _run(self) -> None:
        last = self._last
        while not self._stop.is_set():
            try:
                with class_server(self.member.url, self.member.keys) as client:
                    while not self._stop.is_set():
                        reply = client.xread({self.member.keys.board: last}, block=BLOCK_MS)
                        for entry_id, fields in as_entries(reply):
                            last = entry_id
                            self._read(fields)
            except (redis.RedisError, OSError, BackendError, ClassError):
                self._stop.wait(RETRY_SECONDS)

    def _read(self, fields: dict[str, str]) -> None:
        poll = board_poll(fields)
        with self._lock:
            if poll is not None:
                self._pending = poll
            elif fields.get("kind") == "reveal" and self._pending is not None:
                if fields.get("poll") == self._pending.id:
                    self._pending = None  # answered in the room already: too late to ask
            elif fields.get("kind") == "closed":
                self._pending = None
                self._stop.set()
