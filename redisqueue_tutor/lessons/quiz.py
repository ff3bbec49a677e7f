"""Quiz mode's core: questions generated from a run, selection, shuffling, grading, proving keys.

Pure functions over lessons, questions and step records: no I/O, no clock, no global randomness (a
seed goes in, the same quiz comes out). The screens live in render_quiz.py, the command in
cli/quiz_commands.py.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS, LEVELS, AnswerFrom, Level, Option, Question
from redisqueue_tutor.run.records import ListValue, StepRecord, Value, python_text, state_text
from redisqueue_tutor.run.tables import step_reply

DEFAULT_COUNT = 10
GENERATED_PREFIX = "run-"

# --------------------------------------------------------------------------------------------------
# Reading an answer


class Reply(enum.Enum):
    ANSWER = "answer"
    HINT = "hint"
    QUIT = "quit"
    INVALID = "invalid"


@dataclass(frozen=True)
class Parsed:
    reply: Reply
    position: int = -1  # which option, as shown (0 = A), for Reply.ANSWER
    hinted: bool = False  # the learner saw the hint before answering


def parse_answer(text: str, n_options: int) -> Parsed:
    """A letter picks an option; h or ? asks for the hint; q quits; anything else is invalid."""
    word = text.strip().lower().rstrip(").")
    if len(word) == 1 and word.upper() in LETTERS[:n_options]:
        return Parsed(Reply.ANSWER, LETTERS.index(word.upper()))
    if word in ("h", "?", "hint"):
        return Parsed(Reply.HINT)
    if word in ("q", "quit", "exit"):
        return Parsed(Reply.QUIT)
    return Parsed(Reply.INVALID)


def letters_help(n_options: int) -> str:
    """'A, B, C or D'."""
    letters = list(LETTERS[:n_options])
    return ", ".join(letters[:-1]) + " or " + letters[-1]


# --------------------------------------------------------------------------------------------------
# A question as asked: the options in the order shown


@dataclass(frozen=True)
class QuizItem:
    question: Question
    order: tuple[int, ...]  # order[position] = index of the option in the question

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(self.question.options[i] for i in self.order)

    @property
    def answer_position(self) -> int:
        return self.order.index(self.question.answer_index)

    @property
    def answer_letter(self) -> str:
        return LETTERS[self.answer_position]


@dataclass(frozen=True)
class Outcome:
    """What one answer meant: right or not, and the misconception a wrong option reveals."""

    question_id: str
    position: int
    correct: bool
    misconception: str = ""
    hinted: bool = False


def grade(item: QuizItem, position: int, *, hinted: bool = False) -> Outcome:
    if not 0 <= position < len(item.order):
        raise ValueError(f"there is no option {position} (the question has {len(item.order)})")
    option = item.options[position]
    correct = position == item.answer_position
    return Outcome(
        item.question.id,
        position,
        correct,
        "" if correct else option.misconception,
        hinted,
    )


# --------------------------------------------------------------------------------------------------
# Choosing the questions


def option_orders(questions: Sequence[Question], seed: int) -> tuple[tuple[int, ...], ...]:
    """The order each question's options are shown in: a seeded shuffle, the same for a seed.

    The shuffle never looks at which option is right, so the letter of an answer says nothing
    about it, whatever order the lesson file wrote the options in (a file whose answers are all A
    still gives a quiz whose answers are anywhere). One exception, so no printed quiz of two or
    more questions can be answered by one letter: a draw that puts every answer under the same
    letter is drawn again.
    """
    rng = random.Random(f"options-{seed}")  # apart from the choice of questions: --no-shuffle too
    while True:
        orders = tuple(tuple(rng.sample(range(len(q.options)), len(q.options))) for q in questions)
        keys = {order.index(q.answer_index) for q, order in zip(questions, orders, strict=True)}
        if len(questions) < 2 or len(keys) > 1:
            return orders


def select(
    pool: Sequence[Question],
    *,
    seed: int,
    level: Level | None = None,
    count: int | None = DEFAULT_COUNT,
    shuffle: bool = True,
    only: Iterable[str] | None = None,
) -> tuple[QuizItem, ...]:
    """The questions of one quiz, easy to hard. The same arguments always give the same quiz.

    shuffle: pick at random from the pool; without it, the first questions in the lesson's order
    (generated questions after the lesson's own). Either way the options are in the seeded order
    of option_orders, never the file's. only: keep these question ids.
    """
    rng = random.Random(seed)
    wanted = set(only) if only is not None else None
    chosen = [
        q
        for q in pool
        if (level is None or q.level == level) and (wanted is None or q.id in wanted)
    ]
    if shuffle:
        rng.shuffle(chosen)
    if count is not None:
        chosen = chosen[:count]
    # A quiz climbs from easy to hard; the sort is stable, so the order within a level stays.
    chosen.sort(key=lambda q: LEVELS.index(q.level))
    orders = option_orders(chosen, seed)
    return tuple(QuizItem(q, order) for q, order in zip(chosen, orders, strict=True))


# --------------------------------------------------------------------------------------------------
# The summary


@dataclass(frozen=True)
class Summary:
    score: int
    answered: int
    planned: int
    seconds: float
    misconceptions: tuple[str, ...]  # met, in order, once each
    review: tuple[str, ...]  # what to look at again
    right: tuple[str, ...]  # question ids
    missed: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.answered == self.planned


def summarize(
    items: Sequence[QuizItem], outcomes: Sequence[Outcome], seconds: float, lesson_id: str
) -> Summary:
    by_id = {item.question.id: item for item in items}
    misconceptions: list[str] = []
    review: list[str] = []
    for outcome in outcomes:
        if outcome.correct:
            continue
        if outcome.misconception and outcome.misconception not in misconceptions:
            misconceptions.append(outcome.misconception)
        question = by_id[outcome.question_id].question
        step = question.step or (question.answer_from.step if question.answer_from else None)
        line = (
            f"Step {step}: tutor step {lesson_id}, then {step} Enter"
            if step
            else f"The concept and key moments: tutor show {lesson_id}"
        )
        if line not in review:
            review.append(line)
    review.sort(key=lambda line: (not line.startswith("Step"), _step_number(line)))
    return Summary(
        score=sum(o.correct for o in outcomes),
        answered=len(outcomes),
        planned=len(items),
        seconds=seconds,
        misconceptions=tuple(misconceptions),
        review=tuple(review),
        right=tuple(o.question_id for o in outcomes if o.correct),
        missed=tuple(o.question_id for o in outcomes if not o.correct),
    )


def _step_number(line: str) -> int:
    word = line.split(":")[0].removeprefix("Step ")
    return int(word) if word.isdigit() else 0


# --------------------------------------------------------------------------------------------------
# Values of the run, and proving answer keys


def run_value(answer_from: AnswerFrom, records: Sequence[StepRecord]) -> str:
    """The text the run gives for an answer_from, before the template."""
    if answer_from.field == "step":
        for record in records:
            if state_text(record.state) == answer_from.state:
                return str(record.number)
        return "never"
    assert answer_from.step is not None  # the schema requires it for every other field
    if answer_from.step > len(records):
        return f"no step {answer_from.step} (the run has {len(records)})"
    record = records[answer_from.step - 1]
    if answer_from.field == "state":
        return state_text(record.state)
    if answer_from.field == "output":
        return record.output
    if answer_from.field == "reply":
        return step_reply(record, lesson_only=True)
    values = record.variable_map
    name = answer_from.variable or ""
    if name not in values:
        return f"no variable {name!r}"
    return python_text(values[name])


def variant(lesson: Lesson, what_if: dict[str, str]) -> Lesson:
    """The lesson with some command words swapped (LPUSH -> RPUSH); its claims no longer hold."""
    steps = []
    for step in lesson.steps:
        command = step.command
        if command:
            first, _, rest = command.partition(" ")
            swapped = what_if.get(first.upper())
            if swapped:
                command = f"{swapped} {rest}".strip()
        steps.append(step.model_copy(update={"command": command, "expect": None}))
    return lesson.model_copy(update={"steps": steps, "questions": []})


@dataclass(frozen=True)
class KeyProof:
    """One answer key compared with the run."""

    question_id: str
    step: int
    key: str  # the key option's text
    actual: str  # what the run says, written as the key would be
    problem: str = ""  # empty when the key is proven

    @property
    def ok(self) -> bool:
        return not self.problem


RunVariant = Callable[[Lesson], Sequence[StepRecord]]


def prove_keys(
    lesson: Lesson,
    records: Sequence[StepRecord],
    run_variant: RunVariant | None = None,
    questions: Sequence[Question] | None = None,
) -> list[KeyProof]:
    """Each question with answer_from, its key compared with the run (or a what-if variant run).

    A key that differs from the run fails. Without run_variant, what-if questions are left out (not
    counted as proven).
    """
    proofs = []
    variants: dict[tuple[tuple[str, str], ...], Sequence[StepRecord]] = {}
    for question in lesson.questions if questions is None else questions:
        source = question.answer_from
        if source is None:
            continue
        run = records
        if source.what_if:
            if run_variant is None:
                continue
            name = tuple(sorted(source.what_if.items()))
            if name not in variants:
                variants[name] = run_variant(variant(lesson, source.what_if))
            run = variants[name]
        actual = source.render(run_value(source, run))
        key = question.key.text
        # Options are unique, so a key that matches the run leaves no wrong option matching it.
        problem = "" if key == actual else "key differs from the run"
        step = source.step or question.step or len(run)
        proofs.append(KeyProof(question.id, step, key, actual, problem))
    return proofs


# --------------------------------------------------------------------------------------------------
# Questions generated from the run


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
    """The question to ask before the last of `records` is shown: the popped value, or the new queue."""
    if not records:
        return None
    number = records[-1].number
    mine = [q for q in generated_questions(lesson, start, records) if q.step == number]
    pops = [q for q in mine if q.id.startswith(f"{GENERATED_PREFIX}pop-")]
    chosen = pops or mine
    return chosen[0] if chosen else None
