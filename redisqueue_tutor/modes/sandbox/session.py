"""The sandbox: Redis commands a learner types, run for real, recorded like a lesson's steps.

Every command goes through the Backend seam, so it is recorded (the same execution table as a
lesson) and namespaced: the key and channel arguments the learner types are mapped into the run's
namespace by a table of what each command's arguments mean. A command that is not in that table is
refused, because on somebody's server we cannot tell which of its words are keys; commands that
touch the whole server (FLUSHALL, KEYS, CONFIG, ...) are refused everywhere, with the reason.

SUBSCRIBE and PSUBSCRIBE open a listener lane: a client of its own with a background thread, as a
Django app would run it. PUBLISH waits until Redis has delivered the message to every receiver it
counted, so the row shows who received what.

Undo replays the history without its last command on a fresh namespace (a fresh server on the fake
backend), then removes the old one: the recorded rows are never edited.

No printing here: render_sandbox.py draws, sandbox_shell.py reads lines.
"""

from __future__ import annotations

import difflib
import fnmatch
import shlex
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

import redis

from redisqueue_tutor.keyspace.catalogue import (
    COMMANDS,
    MAX_BLOCK,
    NOT_HERE,
    REFUSED,
    XGROUP_SUBCOMMANDS,
    CommandSpec,
)
from redisqueue_tutor.keyspace.specs import UnknownKeys, channel_positions, key_positions, lookup
from redisqueue_tutor.lessons.clients import (
    DELIVERY_TIMEOUT,
    StreamEntries,
    Subscribers,
    observe_key,
)
from redisqueue_tutor.lessons.model import Client, Concept, Lesson, StateKey, Step
from redisqueue_tutor.modes.sandbox.errors import Cancelled, Refused
from redisqueue_tutor.modes.sandbox.lanes import Lane
from redisqueue_tutor.run.backend import (
    Backend,
    BackendError,
    blocking_seconds,
    hold_signals,
    open_backend,
    signals_as_exit,
)
from redisqueue_tutor.run.passwords import masked_command, masked_line
from redisqueue_tutor.run.records import CommandRecord, StepRecord, Value, fold, freeze, python_text
from redisqueue_tutor.screens.sandbox import Live
from redisqueue_tutor.wording import counted, joined, noun

YOU = "you"
MAX_HISTORY = 500


def suggestion(word: str) -> str:
    close = difflib.get_close_matches(word.upper(), list(COMMANDS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def parse(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise Refused(f"cannot read that line ({exc}); quote a value with spaces: 'a b'") from None


def spec_for(name: str) -> CommandSpec:
    upper = name.upper()
    if upper in COMMANDS:
        return COMMANDS[upper]
    if upper in REFUSED:
        raise Refused(f"{upper} is refused in the sandbox: it {REFUSED[upper]}.")
    if upper in NOT_HERE:
        raise Refused(f"{upper} is not in the sandbox: {NOT_HERE[upper]}.")
    raise Refused(
        f"unknown command {name!r}{suggestion(name)}; type help for the commands the sandbox knows"
    )


def _text(word: Any) -> str:
    return word.decode() if isinstance(word, bytes) else str(word)


def _number(word: str, what: str) -> float:
    try:
        return float(word)
    except ValueError:
        raise Refused(f"{what} must be a number, not {word!r}") from None


class Session:
    """One generation of a sandbox: a backend, the learner's client, lanes, and the rows so far."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.ns = backend.namespace
        self.client = backend.client(YOU)
        self.records: list[StepRecord] = []
        self.keys: dict[str, None] = {}  # touched keys, in order
        self.channels: dict[str, None] = {}
        self.patterns: dict[str, None] = {}
        self.lanes: dict[str, Lane] = {}  # open lanes
        self.lane_names: list[str] = []  # every lane ever opened (for colours of old rows)
        self._arrived = threading.Condition()
        self.start = StepRecord(0, "", "Start", (), "", (), ())
        self._previous = self.start

    # -- what the renderer reads -------------------------------------------------------------
    @property
    def lesson(self) -> Lesson:
        """A lesson-shaped description of the session, so render.execution_table can draw it."""
        # model_construct: the learner's key names need not be lesson identifiers.
        return Lesson.model_construct(
            format=1,
            id="sandbox",
            title="Sandbox",
            level="beginner",
            summary="Your own commands.",
            concept=Concept.model_construct(flow=["You type"], text="Your commands.", snapshot=[]),
            clients=[Client.model_construct(name=n) for n in (YOU, *self.lane_names)],
            state=[StateKey.model_construct(key=k, type="list") for k in self.keys],
            channels=[*self.channels, *self.patterns],
            variables=[],
            steps=[Step.model_construct(actor=YOU, action="-") for _ in self.records] or [],
            moments=[],
            questions=[],
            end_note="",
            compare=[],
        )

    def live(self) -> tuple[Live, ...]:
        observer = self.backend.observer
        rows = []
        for key in self.keys:
            name = self.ns.key(key)
            kind = _text(observer.type(name))
            if kind == "none":
                rows.append(Live(key, kind, "(no such key)"))
                continue
            text = python_text(fold(self._value(name)))
            if kind == "stream":
                text = "\n".join([text, *self._groups(name)])
            rows.append(Live(key, kind, text))
        for channel in self.channels:
            count = observer.pubsub_numsub(self.ns.key(channel))[0][1]
            rows.append(Live(channel, "channel", repr(Subscribers(count)) + self._who(channel)))
        for pattern in self.patterns:
            lanes = [n for n, lane in self.lanes.items() if pattern in lane.names]
            rows.append(
                Live(pattern, "pattern", repr(Subscribers(len(lanes))) + self._who(pattern))
            )
        return tuple(rows)

    def _value(self, name: str) -> Value:
        """What a key holds now; a stream as its entries ([1-1 task=a]), as the lessons show it."""
        observer = self.backend.observer
        if _text(observer.type(name)) == "stream":
            return StreamEntries(freeze(observer.xrange(name)))
        return observe_key(observer, name)

    def _groups(self, name: str) -> list[str]:
        """Each consumer group of a stream: how far it has read, and who holds what is pending."""
        observer = self.backend.observer
        lines = []
        for group in observer.xinfo_groups(name):
            summary = observer.xpending(name, group["name"])
            holders = ", ".join(f"{c['name']}: {c['pending']}" for c in summary["consumers"] or [])
            pending = (
                f"{counted(summary['pending'], 'entry', 'entries')} pending ({holders})"
                if summary["pending"]
                else "nothing pending"
            )
            lines.append(
                f"group {group['name']}: read up to {group['last-delivered-id']}, {pending}"
            )
        return lines

    def _who(self, name: str) -> str:
        lanes = [n for n, lane in self.lanes.items() if name in lane.names]
        return f" ({joined(lanes)})" if lanes else ""

    # -- running one line --------------------------------------------------------------------
    def run(self, words: list[str]) -> StepRecord:
        spec = spec_for(words[0])
        args = words[1:]
        self._check_blocking(spec, args)
        self._check_stream_words(spec, args)
        sent, touched = self._namespaced(spec, args)
        mark = self.backend.log.mark()
        actor, action = YOU, "You"
        if spec.name in ("SUBSCRIBE", "PSUBSCRIBE"):
            actor, output = self._subscribe(spec.name, args, sent)
            action = f"{actor} subscribes"
        elif spec.name in ("UNSUBSCRIBE", "PUNSUBSCRIBE"):
            actor, output = self._unsubscribe(spec.name, args)
            action = f"{actor} unsubscribes"
        else:
            output = self._send(spec.name, sent)
        for kind, name in touched:
            self._touch(kind, name)
        record = StepRecord(
            number=len(self.records) + 1,
            actor=actor,
            action=action,
            commands=self._ordered(self.backend.log.since(mark), actor),
            output=output,
            state=self._observe(),
            variables=(),
        )
        changed = {f"state:{k}" for k, v in record.state if self._previous.state_map.get(k) != v}
        record = replace(record, changed=frozenset(changed))
        self._previous = record
        self.records.append(record)
        return record

    def _touch(self, kind: str, name: str) -> None:
        {"key": self.keys, "channel": self.channels, "pattern": self.patterns}[kind][name] = None

    def _check_blocking(self, spec: CommandSpec, args: list[str]) -> None:
        if spec.timeout is None or not args:
            return
        if spec.timeout == "block":
            upper = [a.upper() for a in args]
            if "BLOCK" not in upper:
                return
            at = upper.index("BLOCK") + 1
            word = args[at] if at < len(args) else ""
            most = f"{MAX_BLOCK * 1000:g}"
            milliseconds = _number(word, f"the BLOCK of {spec.name}")
            if milliseconds <= 0 or milliseconds > MAX_BLOCK * 1000:
                raise Refused(
                    f"in the sandbox {spec.name} may BLOCK 1 to {most} ms, so the prompt comes"
                    f" back (0 would wait forever): e.g. BLOCK 5000"
                )
            return
        word = args[-1] if spec.timeout == "last" else args[0]
        seconds = _number(word, f"the timeout of {spec.name}")
        if seconds <= 0 or seconds > MAX_BLOCK:
            raise Refused(
                f"in the sandbox {spec.name} may wait 0.1 to {MAX_BLOCK:g} seconds, so the prompt"
                f" comes back (0 would wait forever): e.g. {spec.name} {' '.join(args[:-1] or ['queue'])} 5"
                if spec.timeout == "last"
                else f"in the sandbox {spec.name} may wait 0.1 to {MAX_BLOCK:g} seconds"
            )

    def _check_stream_words(self, spec: CommandSpec, args: list[str]) -> None:
        """Refuse what the key table cannot place: then no name could leave the namespace."""
        if spec.name == "XGROUP":
            sub = args[0].upper() if args else ""
            if sub not in XGROUP_SUBCOMMANDS:
                raise Refused(f"the sandbox knows {COMMANDS['XGROUP'].syntax}")
            if len(args) < 3:
                raise Refused(f"XGROUP {sub} needs a key and a group: {XGROUP_SUBCOMMANDS[sub]}")
        elif spec.name in ("XREAD", "XREADGROUP"):
            upper = [a.upper() for a in args]
            after = len(args) - upper.index("STREAMS") - 1 if "STREAMS" in upper else 0
            if after < 2 or after % 2:
                raise Refused(
                    f"{spec.name} ends with STREAMS, then the keys, then one id for each key:"
                    f" {spec.syntax}"
                )

    def _namespaced(
        self, spec: CommandSpec, args: list[str]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """The words to send, keys and channels under the namespace; and what they touch."""
        key = self.ns.key
        if spec.name == "PUBSUB":
            return self._pubsub_args(args)
        if spec.name in ("LMPOP", "BLMPOP"):
            at = 0 if spec.name == "LMPOP" else 1
            if len(args) > at:
                count = _number(args[at], "numkeys")
                if count < 1 or count != int(count):
                    raise Refused("numkeys must be a whole number of keys, 1 or more")
        # Where the names are: Redis's own key specifications (commandspecs.py), as for
        # `tutor trace`; the run's gate checks the result again as it is sent.
        words = [spec.name, *args]
        try:
            keys = key_positions(words) if (found := lookup(words)) and found.keys else []
        except UnknownKeys as exc:
            raise Refused(
                f"{spec.name} {exc}" if not str(exc).startswith(spec.name) else str(exc)
            ) from None
        channels, patterns = channel_positions(words)
        sent = list(words)
        touched = []
        for index in sorted({*keys, *channels, *patterns}):
            kind = "pattern" if index in patterns else "channel" if index in channels else "key"
            sent[index] = key(words[index])
            touched.append((kind, words[index]))
        return sent, touched

    def _pubsub_args(self, args: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        sub = args[0].upper() if args else ""
        if sub == "NUMSUB":
            return ["PUBSUB", "NUMSUB", *(self.ns.key(a) for a in args[1:])], [
                ("channel", a) for a in args[1:]
            ]
        if sub == "CHANNELS":
            if len(args) > 2:
                raise Refused("PUBSUB CHANNELS takes at most one pattern")
            return ["PUBSUB", "CHANNELS", self.ns.key(args[1] if len(args) > 1 else "*")], []
        raise Refused("the sandbox knows PUBSUB NUMSUB [channel ...] and PUBSUB CHANNELS [pattern]")

    def _send(self, name: str, sent: list[str]) -> str:
        """Send one command as the learner; the Output is what redis-py hands a program."""
        heard = {lane.name: len(lane.received) for lane in self.lanes.values()}
        try:
            reply = self.client.execute_command(*sent)
        except redis.ResponseError as exc:
            return f"ResponseError: {exc}"
        except KeyboardInterrupt:
            if blocking_seconds(tuple(sent)) is None:
                raise  # Ctrl-C outside a wait ends the sandbox, as at the prompt
            # Closing the connection ends the wait on a real server at once (Redis drops a
            # blocked client whose socket closes), so it cannot take what is pushed next; on
            # fakeredis the wait ran on this thread and is over already. redis-py closed it too.
            with suppress(Exception):
                self.client.connection_pool.disconnect()
            raise Cancelled(
                f"stopped waiting: {' '.join([name, *(self.ns.short(w) for w in sent[1:])])}"
                " was cancelled with Ctrl-C and is not in the table (Ctrl-C at the prompt ends"
                " the sandbox)"
            ) from None
        output = python_text(fold(self._short(freeze(reply))))
        if name == "PUBLISH" and isinstance(reply, int) and reply > 0:
            # Redis counts every receiver on the server; wait for the sandbox's own lanes only.
            channel = self.ns.short(sent[1])
            own = sum(
                fnmatch.fnmatchcase(channel, n) if lane.kind == "PSUBSCRIBE" else n == channel
                for lane in self.lanes.values()
                for n in lane.names
            )
            self._wait_for_delivery(sum(heard.values()) + min(own, reply))
            if reply > own:
                output += f"\n(Redis also counted {reply - own} outside this sandbox: another client of this server)"
            for lane in self.lanes.values():
                for channel, data in lane.received[heard.get(lane.name, 0) :]:
                    output += f"\n{lane.name} got {python_text(fold(data))} on {channel}"
        return output

    def _subscribe(self, command: str, names: list[str], sent: list[str]) -> tuple[str, str]:
        if not names:
            raise Refused(f"{command} needs a channel: {COMMANDS[command].syntax}")
        name = f"listener{len(self.lane_names) + 1}"
        lane = Lane(
            self.backend.client(name), name, command, names, sent=sent[1:], heard=self._heard
        )
        self.lane_names.append(name)
        lane.start()
        self.lanes[name] = lane
        what = noun(len(names), "pattern" if command == "PSUBSCRIBE" else "channel")
        return name, f"{name} listens to {what} {joined(names)}"

    def _unsubscribe(self, command: str, names: list[str]) -> tuple[str, str]:
        kind = "PSUBSCRIBE" if command == "PUNSUBSCRIBE" else "SUBSCRIBE"
        chosen = [
            lane
            for lane in self.lanes.values()
            if lane.kind == kind and (not names or set(names) & set(lane.names))
        ]
        if not chosen:
            where = " to " + joined(names, "or") if names else ""
            opener = "PSUBSCRIBE" if kind == "PSUBSCRIBE" else "SUBSCRIBE"
            raise Refused(f"no listener lane is subscribed{where}; {opener} opens one")
        for lane in chosen:
            lane.stop()
            del self.lanes[lane.name]
        return chosen[0].name, joined(lane.name for lane in chosen) + " stopped listening"

    def _heard(self, lane: Lane, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "backslashreplace")
        with self._arrived:
            lane.received.append((self.ns.short(str(channel)), freeze(message["data"])))
            self._arrived.notify_all()

    def _delivered(self) -> int:
        return sum(len(lane.received) for lane in self.lanes.values())

    def _wait_for_delivery(self, total: int) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: self._delivered() >= total, DELIVERY_TIMEOUT)

    def _ordered(
        self, commands: tuple[CommandRecord, ...], actor: str
    ) -> tuple[CommandRecord, ...]:
        # Listeners read concurrently with the publisher: the sender first, then lanes in order.
        # A password a command carries is masked in the row (passwords.py).
        rank = {name: i for i, name in enumerate((YOU, *self.lane_names))}
        ordered = sorted(commands, key=lambda c: (c.client != actor, rank.get(c.client, 99)))
        return tuple(
            replace(c, args=masked_command(c.args), sent=masked_command(c.sent)) for c in ordered
        )

    def _short(self, value: Value) -> Value:
        if isinstance(value, str):
            return self.ns.short(value)
        if isinstance(value, tuple):
            return tuple(self._short(v) for v in value)
        return value

    def _observe(self) -> tuple[tuple[str, Value], ...]:
        observer = self.backend.observer
        state: list[tuple[str, Value]] = [(key, self._value(self.ns.key(key))) for key in self.keys]
        state.extend(
            (channel, Subscribers(observer.pubsub_numsub(self.ns.key(channel))[0][1]))
            for channel in self.channels
        )
        for pattern in self.patterns:
            count = sum(pattern in lane.names for lane in self.lanes.values())
            state.append((pattern, Subscribers(count)))
        return tuple(state)

    def close(self) -> None:
        for lane in list(self.lanes.values()):
            lane.stop()
        self.lanes.clear()


@contextmanager
def _generation(spec: str | None) -> Iterator[Session]:
    """A backend and a session on it; on exit its namespace is removed (as `running` does).

    Not `running()` itself: undo opens a new generation while the old one is still open, and
    running's signal handlers would then be restored out of order. The sandbox holds the signals
    once for all its generations (Sandbox.__enter__).
    """
    backend = open_backend(spec)
    session: Session | None = None
    failure: BaseException | None = None
    try:
        backend.start()
        session = Session(backend)
        yield session
    except BaseException as exc:
        failure = exc
        raise
    finally:
        if session is not None:
            session.close()
        clean = not isinstance(failure, redis.TimeoutError | BackendError)
        with suppress(redis.RedisError):
            backend.close(clean=clean)


class Sandbox:
    """The learner's sandbox: lines in, records out; undo by replaying on a fresh namespace."""

    def __init__(self, spec: str | None, *, opener: Callable[[str | None], Any] = _generation):
        self.spec = spec
        self._open = opener
        self.lines: list[str] = []  # as typed, for undo's replay; `history` masks passwords
        self._context: Any = None
        self.session: Session
        self._signals: Any = None

    def __enter__(self) -> Sandbox:
        self._signals = signals_as_exit()
        self._signals.__enter__()
        try:
            self._context = self._open(self.spec)
            self.session = self._context.__enter__()
        except BaseException:
            self._signals.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            hold_signals()
            if self._context is not None:
                self._context.__exit__(*exc)
        finally:
            self._signals.__exit__(None, None, None)

    @property
    def backend(self) -> Backend:
        return self.session.backend

    def run(self, line: str) -> StepRecord:
        words = parse(line)
        if not words:
            raise Refused("type a Redis command, or help")
        if len(self.lines) >= MAX_HISTORY:
            raise Refused(f"the sandbox keeps {MAX_HISTORY} commands; undo some or start again")
        record = self.session.run(words)
        self.lines.append(line.strip())
        return record

    @property
    def history(self) -> list[str]:
        """The commands so far, as they may be shown: a password masked as ***."""
        return [masked_line(line) for line in self.lines]

    def undo(self) -> str:
        """Replay every command but the last on a fresh namespace (as typed, passwords and all);
        returns the command undone, as it may be shown."""
        if not self.lines:
            raise Refused("nothing to undo yet")
        keep = self.lines[:-1]
        fresh = self._open(self.spec)
        session = fresh.__enter__()
        try:
            for line in keep:
                session.run(parse(line))
        except BaseException as exc:
            fresh.__exit__(type(exc), exc, exc.__traceback__)
            raise
        old, self._context, self.session = self._context, fresh, session
        old.__exit__(None, None, None)  # removes the old namespace
        return masked_line(self.lines.pop())
