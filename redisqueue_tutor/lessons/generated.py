"""Questions read off a run: what a pop hands the program, what the queue holds after a step.

Wrong options come from typical mistakes: the wrong end (reversed order), one step off, bytes
against str, nil against an empty list. Pure functions over a lesson and its step records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS, AnswerFrom, Level, Option, Question
from redisqueue_tutor.lessons.quiz import GENERATED_PREFIX
from redisqueue_tutor.run.records import ListValue, StepRecord, Value, python_text

POP_OTHER = {"RPOP": "LPOP", "LPOP": "RPOP"}
PUSH_OTHER = {"LPUSH": "RPUSH", "RPUSH": "LPUSH"}
END = {
    "LPUSH": "head (left)",
    "LPOP": "head (left)",
    "RPUSH": "tail (right)",
    "RPOP": "tail (right)",
}


@dataclass(frozen=True)
class _Case:
    """A step of the run seen as a question: the list before and after, the command and its words."""

    record: StepRecord
    name: str
    key: str
    args: tuple[str, ...]
    before: tuple[Value, ...]
    after: tuple[Value, ...]
    command: str


def _cases(lesson: Lesson, start: StepRecord, records: Sequence[StepRecord]) -> list[_Case]:
    if len(lesson.state) != 1:
        return []  # the Queue State column then names each key; too noisy to ask about
    key = lesson.state[0].key
    cases = []
    previous = start
    for record in records:
        before, after = previous.state_map.get(key), record.state_map.get(key)
        previous = record
        if len(record.commands) != 1 or not isinstance(before, tuple):
            continue
        command = record.commands[0]
        if command.error or not isinstance(after, tuple) or len(command.args) < 2:
            continue
        if command.name not in POP_OTHER and command.name not in PUSH_OTHER:
            continue
        if command.args[1] != key:
            continue
        text = " ".join([command.name, *command.args[1:]])
        cases.append(_Case(record, command.name, key, command.args, before, after, text))
    return cases


def _before(n: int) -> str:
    return "at the start" if n == 1 else f"after step {n - 1}"


def _items(count: int) -> str:
    return f"{count} item" + ("" if count == 1 else "s")


def _options(
    right: str, wrong: Iterable[tuple[str, str]], limit: int = 3
) -> tuple[list[Option], str] | None:
    """The right option and up to `limit` distinct wrong ones, sorted by text, and the key's letter.

    A quiz shows them in the seeded order of option_orders, like a lesson's own questions; sorting
    only keeps the key's letter here from being always A. None if no wrong option is left.
    """
    options = [Option(text=right)]
    seen = {right}
    for text, misconception in wrong:
        if text not in seen and len(options) <= limit:
            seen.add(text)
            options.append(Option(text=text, misconception=misconception))
    if len(options) < 2:
        return None
    options.sort(key=lambda o: o.text)
    return options, LETTERS[[o.text for o in options].index(right)]


def _other_type(value: Value) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (
            python_text(value.encode()),
            "Expects bytes: this client has decode_responses=True, so redis-py hands over str",
        )
    if isinstance(value, bytes):
        return (
            python_text(value.decode("utf-8", "backslashreplace")),
            "Expects str: this client has decode_responses=False, so redis-py hands over bytes",
        )
    return None


def _pop_question(lesson: Lesson, case: _Case, records: Sequence[StepRecord]) -> Question | None:
    step = lesson.steps[case.record.number - 1]
    if not step.assign:
        return None
    value = case.record.variable_map[step.assign]
    right = python_text(value)
    n = case.record.number
    wrong: list[tuple[str, str]] = []
    other = POP_OTHER[case.name]
    if case.before:
        far = case.before[0] if case.name == "RPOP" else case.before[-1]
        wrong.append(
            (
                python_text(far),
                f"Confuses {case.name} with {other}: {case.name} takes from the "
                f"{END[case.name]}, not the {END[other]}",
            )
        )
    if value is not None:
        swapped = _other_type(value)
        if swapped:
            wrong.append(swapped)
        wrong.append(
            (
                "None",
                f"Thinks the list is empty: it held {_items(len(case.before))} before step {n}",
            )
        )
        if len(case.before) >= 2:
            near = case.before[-2] if case.name == "RPOP" else case.before[1]
            wrong.append((python_text(near), "Looks one pop ahead: that item comes out next time"))
    else:
        earlier = case.record.number >= 2 and records[n - 2].variable_map.get(step.assign)
        if earlier:
            wrong.append(
                (
                    python_text(earlier),
                    "Expects the previous value again: a popped item is gone from the list",
                )
            )
        wrong.append(
            ("''", "Expects an empty string: Redis answers nil, which redis-py turns into None")
        )
        wrong.append(
            (
                "[]",
                "Confuses the reply with the queue: the empty list is the state, the pop answers nil",
            )
        )
    made = _options(right, wrong)
    if made is None:
        return None
    options, letter = made
    before = python_text(case.before)
    solution = [f"Before step {n} {case.key} is {before}."]
    if case.before:
        solution.append(
            f"{case.name} removes the item at the {END[case.name]}: {python_text(case.before[-1] if case.name == 'RPOP' else case.before[0])}."
        )
    else:
        solution.append(f"{case.name} on an empty list answers nil, and redis-py gives None.")
    solution.append(f"So {step.assign} holds {right} after step {n}.")
    return Question(
        id=f"{GENERATED_PREFIX}pop-{n}",
        level="medium",
        prompt=(
            f"Step {n}: the {case.record.actor} runs `{case.command}` and stores the reply in "
            f"{step.assign}. What does {step.assign} hold afterwards?"
        ),
        options=options,
        answer=letter,
        hint=f"{case.name} takes from the {END[case.name]}; look at {case.key} {_before(n)}.",
        solution=solution,
        step=n,
        answer_from=AnswerFrom(field="variable", step=n, variable=step.assign),
    )


def _state_question(case: _Case, next_state: tuple[Value, ...] | None) -> Question | None:
    n = case.record.number
    before, after = case.before, case.after
    right = python_text(after)
    wrong: list[tuple[str, str]] = []
    if case.name in PUSH_OTHER:
        other = PUSH_OTHER[case.name]
        value = case.args[-1]
        misplaced = ListValue((*before, value) if case.name == "LPUSH" else (value, *before))
        wrong.append(
            (
                python_text(misplaced),
                f"Confuses {case.name} with {other}: {case.name} adds at the {END[case.name]}",
            )
        )
        if before:
            wrong.append(
                (python_text(ListValue((value,))), "Thinks a push replaces the list: it adds to it")
            )
        else:
            wrong.append(
                (python_text(value), "Confuses the list with its item: one task is still a list")
            )
        explain = f"{case.name} adds {python_text(value)} at the {END[case.name]}."
        level: Level = "easy"
    else:
        other = POP_OTHER[case.name]
        if len(before) >= 2:
            misplaced = ListValue(before[1:] if case.name == "RPOP" else before[:-1])
            wrong.append(
                (
                    python_text(misplaced),
                    f"Confuses {case.name} with {other}: {case.name} removes from the "
                    f"{END[case.name]}",
                )
            )
        if not after:
            wrong.append(("None", "Thinks an empty list reads as None: its contents are simply []"))
        explain = (
            f"{case.name} removes the item at the {END[case.name]}."
            if before
            else f"{case.name} finds nothing to remove; the list stays empty."
        )
        level = "medium"
    if before != after:
        wrong.append(
            (
                python_text(before),
                f"Reads the row before: forgets that step {n}'s {case.name} changes the list",
            )
        )
    if next_state is not None and next_state != after:
        wrong.append((python_text(next_state), "Reads one step ahead: that is after the next step"))
    if tuple(reversed(after)) != after:
        wrong.append(
            (
                python_text(ListValue(reversed(after))),
                "Reads the list backwards: index 0 is the head (left)",
            )
        )
    made = _options(right, wrong)
    if made is None:
        return None
    options, letter = made
    return Question(
        id=f"{GENERATED_PREFIX}state-{n}",
        level=level,
        prompt=(
            f"Step {n}: the {case.record.actor} runs `{case.command}`. What does {case.key} hold "
            f"right after this step (head on the left)?"
        ),
        options=options,
        answer=letter,
        hint=f"Start from {case.key} {_before(n)}; {case.name} works on the {END[case.name]}.",
        solution=[
            f"Before step {n} {case.key} is {python_text(before)}.",
            explain,
            f"So it is {right}.",
        ],
        step=n,
        answer_from=AnswerFrom(field="state", step=n),
    )


def generated_questions(
    lesson: Lesson, start: StepRecord, records: Sequence[StepRecord]
) -> list[Question]:
    """Questions read off the run: what a pop hands the program, what the queue holds after a step.

    Wrong options come from typical mistakes: the wrong end (reversed order), one step off, bytes
    against str, nil against an empty list. Only the records given are used, so predict mode can
    ask about a step before the learner has seen it.
    """
    questions: list[Question] = []
    for case in _cases(lesson, start, records):
        n = case.record.number
        following = records[n].state_map.get(case.key) if n < len(records) else None
        if case.name in POP_OTHER:
            pop = _pop_question(lesson, case, records)
            if pop:
                questions.append(pop)
        if case.before != case.after or case.name in PUSH_OTHER:
            state = _state_question(case, following if isinstance(following, tuple) else None)
            if state:
                questions.append(state)
    return questions


def _covers(source: AnswerFrom) -> tuple[str, int | None] | None:
    if source.what_if:
        return None
    return (source.field if source.field != "output" else "variable", source.step)


def quiz_pool(lesson: Lesson, start: StepRecord, records: Sequence[StepRecord]) -> list[Question]:
    """The lesson's own questions, then those generated from the run that the lesson does not ask."""
    covered = {_covers(q.answer_from) for q in lesson.questions if q.answer_from}
    pool = list(lesson.questions)
    for question in generated_questions(lesson, start, records):
        assert question.answer_from is not None
        if _covers(question.answer_from) not in covered:
            pool.append(question)
    return pool


def predict_question(
    lesson: Lesson, start: StepRecord, records: Sequence[StepRecord]
) -> Question | None:
    """The question to ask before the last of `records` is shown: the popped value, or the new
    queue; in a scenario lesson (whose steps are a framework's, not one pop or push), the lesson's
    own question about that step."""
    if not records:
        return None
    number = records[-1].number
    if lesson.scenario is not None:
        return next((q for q in lesson.questions if q.step == number), None)
    mine = [q for q in generated_questions(lesson, start, records) if q.step == number]
    pops = [q for q in mine if q.id.startswith(f"{GENERATED_PREFIX}pop-")]
    chosen = pops or mine
    return chosen[0] if chosen else None
