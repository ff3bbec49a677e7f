"""Compare transports (a list used as a queue, a pub/sub channel, a stream) by what a run did.

Every answer is computed from the step records: who pushed, published or added what and when, who
popped, received or read it, who crashed holding what, what could be read again. Nothing is
written by hand, so a lesson cannot claim what its run does not show.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from redisqueue_tutor.run.records import CommandRecord, StepRecord, python_text
from redisqueue_tutor.wording import counted

PUSHES = frozenset({"LPUSH", "RPUSH"})
POPS = frozenset({"LPOP", "RPOP", "BLPOP", "BRPOP", "LMOVE", "BLMOVE", "RPOPLPUSH", "BRPOPLPUSH"})
QUESTIONS = {
    "late": "Delivered to a consumer that arrived later?",
    "fanout": "Each message goes to",
    "kept": "Kept in Redis while nobody takes it?",
    "crash": "Survives a consumer that crashes?",
    "replay": "Can be read again later?",
}


@dataclass(frozen=True)
class Verdict:
    """One transport's answers to the comparison questions, each with the evidence from the run."""

    transport: str
    kind: str
    answers: dict[str, str]


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


def _crashes(records: Sequence[StepRecord]) -> dict[str, int]:
    return {client: r.number for r in records for client in r.crashed}


def _sent(
    records: Sequence[StepRecord], names: frozenset[str], target: str
) -> Iterator[tuple[int, CommandRecord]]:
    for record in records:
        for command in record.commands:
            if command.name in names and len(command.args) > 1 and command.args[1] == target:
                yield record.number, command


def list_verdict(name: str, records: Sequence[StepRecord]) -> Verdict:
    pushed: dict[str, int] = {}
    for number, command in _sent(records, PUSHES, name):
        for value in command.args[2:]:
            pushed.setdefault(value, number)
    taken: dict[str, list[str]] = {}
    late = 0
    first = _first_seen(records)
    for _number, command in _sent(records, POPS, name):
        reply = command.reply
        if isinstance(reply, tuple) and len(reply) == 2 and command.name.startswith("B"):
            reply = reply[1]  # BRPOP answers [key, value]
        if reply is None or command.waiting:
            continue
        value = _text(reply)
        taken.setdefault(value, []).append(command.client)
        if value in pushed and first.get(command.client, 0) > pushed[value]:
            late += 1
    most = max((len(set(c)) for c in taken.values()), default=0)
    waiting = max(
        (len(r.state_map[name]) for r in records if isinstance(r.state_map.get(name), tuple)),
        default=0,
    )
    crashed = _crashes(records)
    lost = [v for v, clients in taken.items() if clients[-1] in crashed and len(clients) == 1]
    return Verdict(
        name,
        "list",
        {
            "late": f"yes: {counted(late, 'message')} pushed before"
            f" {'its consumer arrived was' if late == 1 else 'their consumer arrived were'}"
            " popped later"
            if late
            else "no message was popped by a consumer that arrived after it",
            "fanout": (
                "one consumer" + (f" ({len(taken)} popped, each by one client)" if taken else "")
            )
            if most <= 1
            else f"{most} consumers",
            "kept": f"yes: up to {waiting} waited in the list" if waiting else "no",
            "crash": f"no: {python_text(lost[0])} left with the consumer that crashed"
            if lost
            else ("no crash in this run" if not crashed else "yes: nothing was lost"),
            "replay": "no: a popped message is gone from the list",
        },
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
    heard: dict[str, set[str]] = {}
    for record in records:
        for command in record.commands:
            message = _received(command, name)
            if message is not None:
                heard.setdefault(message, set()).add(command.client)
    late = [m for m in unheard if m in heard]
    subscribers = {
        c.client for r in records for c in r.commands if c.name in ("SUBSCRIBE", "PSUBSCRIBE")
    }
    crashed = {c: at for c, at in _crashes(records).items() if c in subscribers}
    missed = [
        (client, message)
        for client, at in crashed.items()
        for number, command in _sent(records, frozenset({"PUBLISH"}), name)
        if number > at
        and (message := command.args[2]) not in {m for m in heard if client in heard[m]}
    ]
    return Verdict(
        name,
        "channel",
        {
            "late": f"yes: {counted(len(late), 'message')}"
            if late
            else f"no: {counted(len(unheard), 'message')} published while nobody listened never"
            " arrived",
            "fanout": f"all {fanout} subscribers"
            if fanout > 1
            else "every subscriber listening then",
            "kept": "no: PUBLISH stores nothing"
            + (f" ({python_text(unheard[0])} was dropped)" if unheard else ""),
            "crash": f"no: {missed[0][0]} missed {python_text(missed[0][1])} and never gets it"
            if missed
            else ("no crash in this run" if not crashed else "nothing was published after it"),
            "replay": "no: a channel has no history",
        },
    )


def _entries(reply: object) -> list[str]:
    """Entry ids in an XREADGROUP / XAUTOCLAIM / XRANGE reply."""
    ids: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, tuple):
            if (
                len(value) == 2
                and isinstance(value[0], str | bytes)
                and isinstance(value[1], tuple)
            ):
                first = _text(value[0])
                if "-" in first and first.replace("-", "").isdigit():
                    ids.append(first)
                    return
            for item in value:
                walk(item)

    walk(reply)
    return ids


def stream_verdict(name: str, records: Sequence[StepRecord]) -> Verdict:
    added: dict[str, int] = {}
    delivered: dict[str, list[str]] = {}
    read_by: dict[str, set[str]] = {}
    replayed: list[str] = []
    late = 0
    first = _first_seen(records)
    for number, command in _sent(records, frozenset({"XADD"}), name):
        added[_text(command.reply)] = number
    for record in records:
        for command in record.commands:
            args = command.args
            if command.name == "XREADGROUP" and name in args:
                for entry in _entries(command.reply):
                    delivered.setdefault(entry, []).append(command.client)
                    read_by.setdefault(entry, set()).add(command.client)
                    if entry in added and first.get(command.client, 0) > added[entry]:
                        late += 1
            elif command.name in ("XAUTOCLAIM", "XCLAIM") and len(args) > 1 and args[1] == name:
                for entry in _entries(command.reply):
                    delivered.setdefault(entry, []).append(command.client)
            elif command.name in ("XRANGE", "XREVRANGE") and len(args) > 1 and args[1] == name:
                replayed += [e for e in _entries(command.reply) if e in delivered]
    crashed = _crashes(records)
    rescued = [e for e, c in delivered.items() if any(x in crashed for x in c[:-1])]
    return Verdict(
        name,
        "stream",
        {
            "late": f"yes: {counted(late, 'entry', 'entries')} added before"
            f" {'its consumer arrived was' if late == 1 else 'their consumer arrived were'}"
            " read later"
            if late
            else "no entry was read by a consumer that arrived after it",
            "fanout": "one consumer of the group (each group gets every entry)"
            if max((len(c) for c in read_by.values()), default=1) <= 1
            else "several consumers of one group",
            "kept": f"yes: {counted(len(added), 'entry', 'entries')}"
            f" {'stays' if len(added) == 1 else 'stay'} in the stream"
            if added
            else "no",
            "crash": f"yes: {rescued[0]} was claimed from the crashed consumer"
            if rescued
            else ("no crash in this run" if not crashed else "no entry was claimed"),
            "replay": f"yes: XRANGE read {counted(len(replayed), 'processed entry', 'processed entries')} again"
            if replayed
            else "yes, with XRANGE (not read again in this run)",
        },
    )


def compare_transports(
    names: Sequence[str],
    channels: Sequence[str],
    streams: Sequence[str],
    records: Sequence[StepRecord],
) -> tuple[Verdict, ...]:
    verdicts = []
    for name in names:
        if name in channels:
            verdicts.append(channel_verdict(name, records))
        elif name in streams:
            verdicts.append(stream_verdict(name, records))
        else:
            verdicts.append(list_verdict(name, records))
    return tuple(verdicts)
