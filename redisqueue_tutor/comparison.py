"""Compare transports (a list used as a queue, a pub/sub channel) by what a run really did.

Every answer is computed from the step records: who pushed or published what and when, who popped
or received it, what Redis held. Nothing is written by hand, so a lesson cannot claim what its run
does not show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redisqueue_tutor.records import CommandRecord, StepRecord, python_text

PUSHES = frozenset({"LPUSH", "RPUSH"})
POPS = frozenset({"LPOP", "RPOP", "BLPOP", "BRPOP", "LMOVE", "BLMOVE", "RPOPLPUSH", "BRPOPLPUSH"})
QUESTIONS = (
    "Delivered to a consumer that arrived later?",
    "Each message goes to",
    "Kept in Redis while nobody takes it?",
)


@dataclass(frozen=True)
class Verdict:
    """One transport's answers to the comparison questions, each with the evidence from the run."""

    transport: str
    kind: str
    answers: tuple[str, ...]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _first_seen(records: Sequence[StepRecord]) -> dict[str, int]:
    """The step at which each client first did anything."""
    seen: dict[str, int] = {}
    for record in records:
        for command in record.commands:
            seen.setdefault(command.client, record.number)
    return seen


def _sent(records: Sequence[StepRecord], names: frozenset[str], target: str):
    for record in records:
        for command in record.commands:
            if command.name in names and len(command.args) > 1 and command.args[1] == target:
                yield record.number, command


def list_verdict(name: str, records: Sequence[StepRecord]) -> Verdict:
    pushed: dict[str, int] = {}
    for number, command in _sent(records, PUSHES, name):
        for value in command.args[2:]:
            pushed.setdefault(value, number)
    taken: dict[str, set[str]] = {}
    late = 0
    first = _first_seen(records)
    for _number, command in _sent(records, POPS, name):
        reply = command.reply
        if isinstance(reply, tuple) and len(reply) == 2 and command.name.startswith("B"):
            reply = reply[1]  # BRPOP answers [key, value]
        if reply is None:
            continue
        value = _text(reply)
        taken.setdefault(value, set()).add(command.client)
        if value in pushed and first.get(command.client, 0) > pushed[value]:
            late += 1
    most = max((len(c) for c in taken.values()), default=0)
    waiting = max(
        (len(r.state_map[name]) for r in records if isinstance(r.state_map.get(name), tuple)),
        default=0,
    )
    return Verdict(
        name,
        "list",
        (
            f"yes: {late} message(s) pushed before their consumer arrived were popped later"
            if late
            else "no message was popped by a consumer that arrived after it",
            "one consumer" + (f" ({len(taken)} popped, each by one client)" if most == 1 else "")
            if most <= 1
            else f"{most} consumers",
            f"yes: up to {waiting} waited in the list" if waiting else "no",
        ),
    )


def _received(command: CommandRecord, channel: str) -> str | None:
    reply = command.reply
    if command.args or not isinstance(reply, tuple) or not reply:
        return None
    kind = _text(reply[0])
    if kind == "message" and _text(reply[1]) == channel:
        return _text(reply[2])
    if kind == "pmessage" and _text(reply[2]) == channel:
        return _text(reply[3])
    return None


def channel_verdict(name: str, records: Sequence[StepRecord]) -> Verdict:
    unheard: list[str] = []
    fanout = 0
    for _number, command in _sent(records, frozenset({"PUBLISH"}), name):
        if command.reply == 0:
            unheard.append(command.args[2])
        elif isinstance(command.reply, int):
            fanout = max(fanout, command.reply)
    received = [
        _received(c, name) for r in records for c in r.commands if _received(c, name) is not None
    ]
    late = [m for m in unheard if m in received]
    return Verdict(
        name,
        "channel",
        (
            f"yes: {len(late)} message(s)"
            if late
            else f"no: {len(unheard)} message(s) published while nobody listened never arrived",
            f"all {fanout} subscribers" if fanout > 1 else "the subscriber(s) listening then",
            "no: PUBLISH stores nothing"
            + (f" ({python_text(unheard[0])} was dropped)" if unheard else ""),
        ),
    )


def compare_transports(
    names: Sequence[str], channels: Sequence[str], records: Sequence[StepRecord]
) -> tuple[Verdict, ...]:
    return tuple(
        channel_verdict(n, records) if n in channels else list_verdict(n, records) for n in names
    )
