"""The lesson format, version 1, as pydantic models: strict, unknown fields refused.

Building these models costs tens of milliseconds at start-up, so only commands that run or check a
lesson import this module; `tutor list` reads summaries with tomllib alone (lessons.py).
"""

from __future__ import annotations

import re
import reprlib
import shlex
import string
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from redisqueue_tutor.keyspace.blocking import blocking_seconds
from redisqueue_tutor.lessons.questions import Question
from redisqueue_tutor.lessons.scenario_format import Scenario, scenario_problems

MAX_FOREGROUND_WAIT = 10.0  # seconds a blocking step may keep the learner waiting
MAX_STEPS = 1_000  # steps, moments or questions in one lesson (progress.py counts on it)


Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
ChannelName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:*?-]*$", max_length=40)]
LessonId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)]
Text = Annotated[str, Field(min_length=1)]
# What fills one cell of the execution table; the longest in the packaged lessons is 108.
Cell = Annotated[str, Field(max_length=1_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MESSAGE_FIELDS = ("data", "channel", "pattern")


class Client(_Strict):
    """One Redis client of the scenario (a producer, a consumer, a subscriber...)."""

    name: Identifier
    role: Cell = ""
    # What the program's code gets back: str with decode_responses=True, bytes without.
    decode_responses: bool = True
    # A subscriber: its SUBSCRIBE/PSUBSCRIBE starts a listener thread. Each message it receives is
    # printed with `on_message` (a template over data, channel, pattern) and its data appended
    # to the variable `collect`.
    on_message: Cell | None = None
    collect: Identifier | None = None
    # A scenario lesson's lane: which of the run's clients it is, as globs over the names a
    # trace gives them ("main" for the program's own, "celery-*" for a Celery worker process).
    match: list[Cell] = []

    @property
    def listens(self) -> bool:
        return self.on_message is not None or self.collect is not None


class StateKey(_Strict):
    """A key (or a channel's subscriber count) shown in Queue State and the variable tracker."""

    key: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$", max_length=60)]
    # hash, zset, set and string: in a scenario lesson, whose program writes them.
    type: Literal["list", "channel", "stream", "hash", "zset", "set", "string"] = "list"


class Expect(_Strict):
    """What the author claims a step shows; `tutor check` proves it against the run."""

    state: str | None = None
    reply: str | None = None
    output: str | None = None
    variables: dict[str, str] = {}


class Step(_Strict):
    actor: Identifier
    action: Annotated[Cell, Field(min_length=1)]
    command: Cell | None = None
    assign: Identifier | None = None
    output: Cell | None = None
    expect: Expect | None = None
    # Concurrency and failure, for the delivery-guarantee lessons:
    # background: the command runs on the actor's own thread and may block (BRPOP); the step
    #   shows it waiting, and a later step that `join`s the actor shows Redis's answer.
    background: bool = False
    join: list[Identifier] = []
    # repeat: send the command this many times in a row (a consumer polling in a loop).
    repeat: Annotated[int, Field(ge=1, le=20)] = 1
    # crash: the actor dies here (its connections are closed, as when a worker process is
    #   killed); it takes no further steps.
    crash: bool = False
    # Presenter mode: a question put to the class before this step's result is revealed, and
    # what the instructor says at this step (`tutor present --notes`).
    ask: Cell | None = None
    notes: Cell | None = None
    # The program line this step runs, as a learner would write it with redis-py; derived from
    # the command when left out (see program.py).
    code: Cell | None = None
    # A scenario lesson's step: the actor's commands up to the first that matches this glob
    # ("HSET unacked *"), after those of the actor's earlier steps; or, for a list of globs, up
    # to the last of their first matches (two processes of one lane that race: a pool's child
    # stores the result while its parent acks).
    # A file may give one glob or a list; it is always a list here.
    until: list[Cell] | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _until_shape(cls, until: Any) -> Any:
        """One glob, or a list of globs (one clear message, not one per shape it may take)."""
        if until is None:
            return until
        if isinstance(until, str):
            return [until]
        if isinstance(until, list) and until and all(isinstance(g, str) for g in until):
            return until
        raise ValueError('a glob ("HSET unacked *") or a non-empty list of globs')

    @field_validator("command")
    @classmethod
    def _command_shape(cls, command: str | None) -> str | None:
        if command is None:
            return None
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"cannot be split into words: {exc}") from None
        if not words:
            raise ValueError("is empty; leave it out for a step without Redis")
        return command

    @model_validator(mode="after")
    def _assign_needs_command(self) -> Step:
        if self.assign and not self.command:
            raise _RefError(("assign",), "assign needs a command whose reply it stores")
        if self.background and not self.command:
            raise _RefError(("background",), "a background step needs a command")
        if self.crash and self.command:
            raise _RefError(("crash",), "a crash step sends no command; crash in a step of its own")
        if self.background and self.repeat > 1:
            raise _RefError(("repeat",), "a background command cannot be repeated")
        wait = blocking_seconds(shlex.split(self.command)) if self.command else None
        # What a blocking command answers must not depend on how long a person reads a screen:
        # in the background it waits for the step that wakes it (timeout 0); in the foreground it
        # ends by itself, while the learner watches.
        if self.background and wait is not None and wait != 0:
            raise _RefError(
                ("command",),
                "a background command must block with timeout 0 (until a later step wakes it), "
                "so that its answer does not depend on how long the learner reads; to show a "
                "timeout passing, block in a step of its own without background",
            )
        if not self.background and wait is not None and not 0 < wait <= MAX_FOREGROUND_WAIT:
            raise _RefError(
                ("command",),
                f"a blocking command in the foreground needs a timeout between 0 and "
                f"{MAX_FOREGROUND_WAIT:g} seconds (0 would wait for ever: use background = true "
                "and wake it in a later step)",
            )
        return self


class Moment(_Strict):
    """A key moment: a question a learner asks at one or more steps, and its answer."""

    steps: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    question: Text
    answer: Text


class Concept(_Strict):
    flow: list[Text] = Field(min_length=1)
    text: Text
    snapshot: list[Text] = []


class Lesson(_Strict):
    format: Literal[1]
    id: LessonId
    title: Text
    level: Literal["beginner", "intermediate", "advanced"]
    summary: Text
    concept: Concept
    # Bounds ten times what a lesson needs: every client may be a thread, every step a screen.
    clients: list[Client] = Field(min_length=1, max_length=50)
    state: list[StateKey] = Field(default=[], max_length=50)
    # Pub/sub channels and patterns; like keys, they are namespaced on a real server.
    channels: list[ChannelName] = Field(default=[], max_length=50)
    variables: list[Identifier] = Field(default=[], max_length=100)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    moments: list[Moment] = Field(default=[], max_length=MAX_STEPS)
    questions: list[Question] = Field(default=[], max_length=MAX_STEPS)
    end_note: str = ""
    # Transports (list keys and channels) compared in a table built from the run at the end.
    compare: list[ChannelName] = []
    compare_on: list[Literal["late", "fanout", "kept", "crash", "replay"]] = [
        "late",
        "fanout",
        "kept",
    ]
    scenario: Scenario | None = None

    @model_validator(mode="after")
    def _references(self) -> Lesson:
        clients = [c.name for c in self.clients]
        _unique("clients", clients)
        _unique("state", [s.key for s in self.state])
        _unique("channels", self.channels)
        self._check_clients()
        self._check_state()
        _unique("variables", self.variables)
        if self.scenario is not None:
            self._check_scenario()
            self._check_step_numbers()
            return self
        self._check_steps(clients)
        self._check_step_numbers()
        return self

    def _check_scenario(self) -> None:
        for loc, message in scenario_problems(self):
            raise _RefError(loc, message)

    def _check_clients(self) -> None:
        for index, client in enumerate(self.clients):
            if client.match and self.scenario is None:
                raise _RefError(
                    ("clients", index, "match"), "match is for a lesson with a scenario"
                )
            if client.collect and client.collect not in self.variables:
                raise _RefError(
                    ("clients", index, "collect"),
                    f"{client.collect!r} is not declared in variables",
                )
            if client.on_message:
                for name in _template_names(client.on_message, ("clients", index, "on_message")):
                    if name not in MESSAGE_FIELDS:
                        raise _RefError(
                            ("clients", index, "on_message"),
                            f"{{{name}}} is not a message field ({', '.join(MESSAGE_FIELDS)})",
                        )

    def _check_state(self) -> None:
        for index, key in enumerate(self.state):
            if self.scenario is None and key.type not in ("list", "channel", "stream"):
                raise _RefError(
                    ("state", index, "type"),
                    f"a {key.type} is shown in a lesson with a scenario, whose program writes it",
                )
            if self.scenario is None and not re.fullmatch(r"[a-z][a-z0-9_]*", key.key):
                raise _RefError(
                    ("state", index, "key"),
                    "a key name is lowercase letters, digits and _ (a scenario's may be any)",
                )
            if key.type == "channel" and key.key not in self.channels:
                raise _RefError(("state", index, "key"), f"{key.key!r} is not in channels")
        comparable = [s.key for s in self.state if s.type in ("list", "stream")]
        for index, name in enumerate(self.compare):
            if name not in comparable and name not in self.channels:
                raise _RefError(
                    ("compare", index),
                    f"{name!r} is not a list or stream in state, nor a channel",
                )

    def _check_steps(self, clients: list[str]) -> None:
        """Each step's actor may act (a client, not crashed, not waiting), then its names."""
        crashed: set[str] = set()
        waiting: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.actor not in clients:
                raise _RefError(
                    ("steps", index, "actor"),
                    f"{step.actor!r} is not a client of this lesson ({', '.join(clients)})",
                )
            if step.until is not None:
                raise _RefError(("steps", index, "until"), "until is for a lesson with a scenario")
            if step.actor in crashed:
                raise _RefError(("steps", index, "actor"), f"{step.actor!r} crashed earlier")
            for name in step.join:
                if name not in waiting:
                    raise _RefError(
                        ("steps", index, "join"), f"{name!r} has no background command to join"
                    )
                waiting.discard(name)
            if step.actor in waiting and (step.command or step.crash):
                raise _RefError(
                    ("steps", index, "actor"),
                    f"{step.actor!r} is still waiting for its background command; join it first",
                )
            if step.background:
                waiting.add(step.actor)
            if step.crash:
                crashed.add(step.actor)
            self._check_step_names(index, step)

    def _check_step_names(self, index: int, step: Step) -> None:
        """The variables, keys and channels a step names are the lesson's."""
        if step.assign and step.assign not in self.variables:
            raise _RefError(
                ("steps", index, "assign"),
                f"{step.assign!r} is not declared in variables",
            )
        for field in ("action", "command", "output"):
            text = getattr(step, field)
            if text is None:
                continue
            for name in _template_names(text, ("steps", index, field)):
                if name not in self.variables:
                    raise _RefError(
                        ("steps", index, field),
                        f"{{{name}}} is not a declared variable",
                    )
        if step.command is not None:
            problem = command_problem(step.command, self.key_names, self.channels)
            if problem:
                raise _RefError(("steps", index, "command"), problem)
        if step.expect:
            for name in step.expect.variables:
                if name not in self.variables:
                    raise _RefError(
                        ("steps", index, "expect"),
                        f"variable {reprlib.repr(name)} is not declared",
                    )

    def _check_step_numbers(self) -> None:
        for index, moment in enumerate(self.moments):
            for number in moment.steps:
                if number > len(self.steps):
                    raise _RefError(
                        ("moments", index, "steps"),
                        f"step {number} does not exist (the lesson has {len(self.steps)})",
                    )
        for index, question in enumerate(self.questions):
            if question.step and question.step > len(self.steps):
                raise _RefError(
                    ("questions", index, "step"), f"step {question.step} does not exist"
                )

    @property
    def key_names(self) -> tuple[str, ...]:
        """Every name that is namespaced: keys shown in the state, and channels."""
        return tuple(dict.fromkeys([s.key for s in self.state] + self.channels))

    def client(self, name: str) -> Client:
        return next(c for c in self.clients if c.name == name)

    def moment_for(self, step_number: int) -> Moment | None:
        for moment in self.moments:
            if step_number in moment.steps:
                return moment
        return None

    def code_for(self, step_number: int) -> str | None:
        """The redis-py line step `step_number` runs (its `code`, or derived from its command)."""
        from redisqueue_tutor.lessons.program import step_code

        return step_code(self, self.steps[step_number - 1])


_PROBE = "tutor:{00000000}:"  # a namespace for asking the gate about a command before a run


def command_problem(command: str, names: Sequence[str], channels: Sequence[str]) -> str:
    """Why a step's command could not be sent, before the lesson runs; "" when it can.

    The command's name and every key and channel it names must be written out (not a template)
    and declared by the lesson ([[state]] keys, channels); then the run's gate must let it through
    with those names in a run's namespace. The gate asks again at the moment the command is sent,
    after its templates are filled.
    """
    from redisqueue_tutor.keyspace.gate import Gate
    from redisqueue_tutor.keyspace.specs import UnknownKeys, channel_positions, key_positions

    words = shlex.split(command)
    if "{" in words[0]:
        return "the command's name must be written out, not a template"
    declared = set(names)
    try:
        keys = key_positions(words)
    except UnknownKeys:
        keys = []  # the gate below says why
    channel_at, pattern_at = channel_positions(words)
    for index in [*keys, *channel_at, *pattern_at]:
        word = words[index]
        what = "key" if index in keys else "channel" if index in channel_at else "pattern"
        if "{" in word:
            return f"the {what} at word {index + 1} ({word}) must be written out, not a template"
        if word not in declared:
            where = "channels" if what != "key" else "[[state]]"
            return f"{words[0].upper()} names the {what} {word!r}, which the lesson does not declare (add it to {where})"
    gate = Gate(_PROBE)
    probe = [
        _PROBE + w if i in (*keys, *channel_at, *pattern_at) else w for i, w in enumerate(words)
    ]
    return gate.problem(probe, shown=lambda name: name.removeprefix(_PROBE))


class _RefError(ValueError):
    """A cross-reference error that knows which field it belongs to."""

    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _template_names(text: str, loc: tuple[Any, ...]) -> list[str]:
    try:
        return template_names(text)
    except TemplateError as exc:
        raise _RefError(loc, str(exc)) from None


def _unique(field: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise _RefError((field, index), f"{name!r} appears twice")
        seen.add(name)


_FORMATTER = string.Formatter()
# A template fills a table cell: a width or precision beyond this is a mistake or an attack
# ({task:>200000000} builds a 200 MB string and hangs the screen that draws it).
MAX_TEMPLATE_WIDTH = 200
_FIELD = re.compile(r"([a-z][a-z0-9_]*)(\[\d{1,4}\])*")
_NUMBER = re.compile(r"\d+")


class TemplateError(ValueError):
    """A template the tutor will not fill, in one line."""


def _brief(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _check_field(field: str, spec: str, conversion: str | None) -> str:
    """The variable a replacement field names; TemplateError if the tutor will not fill it."""
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    shown = shown[:40] + "...}" if len(shown) > 44 else shown + "}"
    match = _FIELD.fullmatch(field)
    if not match:
        raise TemplateError(f"{shown}: only a variable name, or an item of one such as task[1]")
    if conversion not in (None, "r", "s", "a"):
        raise TemplateError(f"{shown}: the conversion after ! is r, s or a")
    if "{" in spec:
        raise TemplateError(f"{shown}: a field inside a format is not supported")
    for number in _NUMBER.findall(spec):
        if len(number) > 6 or int(number) > MAX_TEMPLATE_WIDTH:
            raise TemplateError(
                f"{shown}: a width or precision of {number[:12]}"
                f"{'...' if len(number) > 12 else ''} is too large (at most {MAX_TEMPLATE_WIDTH})"
            )
    try:
        format("", spec)  # values are formatted as text (engine._Shown)
    except ValueError as exc:
        raise TemplateError(f"{shown}: {exc}") from None
    return match.group(1)


def _fields(text: str) -> list[tuple[str, str, str | None]]:
    try:
        return [(f, s or "", c) for _lit, f, s, c in _FORMATTER.parse(text) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"bad template {_brief(text)}: {exc}") from None


def template_names(text: str) -> list[str]:
    """The variable names a template such as ``"Processed {task!r}"`` or ``{reply[1]}`` uses.

    Raises TemplateError for a template the tutor will not fill: a field that is not a variable,
    an unknown conversion, a format that is not one for text, or a width above MAX_TEMPLATE_WIDTH.
    """
    return [_check_field(field, spec, conv) for field, spec, conv in _fields(text)]


def fill_template(text: str, variables: dict[str, Any]) -> str:
    template_names(text)  # lessons are checked when loaded; this guards every other caller
    return text.format(**variables)
