"""The run of a traced program, built from the tracer's events as they arrive (parent.py feeds
it): the steps, the lists at each step, the keys at the end."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from redisqueue_tutor.keyspace.specs import UnknownKeys, name_positions
from redisqueue_tutor.run.records import CommandRecord, ListValue, StepRecord, Value
from redisqueue_tutor.run.runfile import (
    LIST_COMMANDS,
    KeyAtEnd,
    Outcome,
    Run,
    TracedStep,
    changed_marks,
    decode_value,
)


@dataclass
class RunBuilder:
    """Builds a Run from the tracer's events, as they arrive (trace.py feeds it).

    A step event carries only the keys its commands changed ([name, type, value]; type "none"
    once a key is gone): the builder keeps the current value of each, so the cost of a step does
    not grow with the number of keys the run has named."""

    title: str
    source: str
    backend: str
    watch: tuple[str, ...] = ()  # keys whose value each step keeps, whatever their type
    lanes: list[str] = field(default_factory=list)
    names: dict[str, None] = field(default_factory=dict)
    lists: dict[str, None] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    current: dict[str, KeyAtEnd] = field(default_factory=dict)  # each key as last changed
    stdout: list[str] = field(default_factory=list)  # the program's output, as written
    stderr: list[str] = field(default_factory=list)
    before_first: str = ""  # printed before the program's first command
    _values: dict[str, Value] = field(default_factory=dict)  # each list as of the last step
    _before: dict[str, Value] = field(default_factory=dict)  # the last step's lists

    @property
    def keys(self) -> list[KeyAtEnd]:
        """The keys the run holds now (those it removed left out), in the order the program first
        named them."""
        order = {name: i for i, name in enumerate(self.names)}
        held = [k for k in self.current.values() if k.type != "none"]
        return sorted(held, key=lambda k: order.get(k.key.split(" (db ")[0], len(order)))

    def add_step(self, event: dict[str, Any]) -> None:
        actor = str(event["actor"])
        if actor not in self.lanes:
            self.lanes.append(actor)
        self.names.update(dict.fromkeys(str(n) for n in event.get("names", ())))
        changed = {k: KeyAtEnd(k, t, v) for k, t, v in event.get("keys", ())}
        for key in changed.values():
            if key.type == "list":
                self.lists.setdefault(key.key, None)
        # A list a consumer always empties at once is never seen holding anything: still a list.
        commands: tuple[CommandRecord, ...] = event["records"]
        for command in commands:
            if command.error:
                continue  # LPUSH on a string answers WRONGTYPE: that key is no list
            args = [str(a) for a in command.args]
            if args and args[0].upper() in LIST_COMMANDS:
                try:
                    positions = name_positions(args)
                except UnknownKeys:
                    positions = []
                for index in positions:
                    self.lists.setdefault(args[index], None)
        self.current.update(changed)
        # Only the lists the step changed are kept with it; build() carries the others on.
        lists = {k.key: k.value if k.type == "list" else ListValue() for k in changed.values()}
        # Each step's lists, and which of them changed (the renderer highlights them), made now,
        # while the program runs (runfile.changed_marks, as a run file's); a list first seen
        # later is added to the earlier steps, empty, by build().
        self._values.update(lists)
        state = tuple((name, self._values.get(name, ListValue())) for name in self.lists)
        marks = changed_marks(state, self._before)
        self._before = dict(state)
        none = KeyAtEnd("", "none", None)
        watched = tuple(
            (name, (held := self.current.get(name, none)).type, held.value) for name in self.watch
        )
        self.steps.append(
            {
                **event,
                "keys": lists,
                "output": "",
                "state": state,
                "marks": marks,
                "watched": watched,
            }
        )

    def add_keys(self, keys: list[list[Any]]) -> None:
        """Keys read after the last step ([name, type, value]): what the run holds at the end."""
        self.current.update({k: KeyAtEnd(k, t, decode_value(v)) for k, t, v in keys})

    def add_output(self, thread: str, text: str) -> None:
        for step in reversed(self.steps):
            if step["thread"] == thread:
                step["output"] += text
                return
        self.before_first += text

    def build(self, outcome: Outcome, stdout: str, stderr: str) -> Run:
        run = Run(
            title=self.title,
            source=self.source,
            backend=self.backend,
            lanes=tuple(self.lanes),
            names=tuple(self.names),
            lists=tuple(self.lists),
            traced=(),
            keys=tuple(self.keys),
            outcome=outcome,
            stdout=stdout,
            stderr=stderr,
        )
        return replace(run, traced=tuple(self.traced()))

    def traced(self, start: int = 0, stop: int | None = None) -> list[TracedStep]:
        """The steps from `start` (to `stop`), as records, each with its lists (made as the step arrived,
        add_step) and a list first seen after it, empty. Safe to call while steps arrive (a
        scenario lesson reads them as its program runs): a step is listed once it is whole."""
        traced = []
        names = tuple(self.lists)
        for number, event in enumerate(self.steps[start:stop], start=start + 1):
            state = event["state"]
            if len(state) < len(names):
                state += tuple((name, ListValue()) for name in names[len(state) :])
            record = StepRecord(
                number=number,
                actor=str(event["actor"]),
                action=str(event["action"]),
                commands=event["records"],
                output=event["output"].rstrip("\n"),
                state=state,
                variables=(),
                changed=event["marks"],
            )
            traced.append(TracedStep(record, str(event["thread"]), event["watched"]))
        return traced
