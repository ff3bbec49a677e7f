"""Quiz mode's core: selection, shuffling, grading, proving answer keys against a run.

Pure functions over lessons, questions and step records: no I/O, no clock, no global randomness (a
seed goes in, the same quiz comes out). Questions generated from the run are in generated.py;
the answering loop in modes/quiz.py, the screens in screens/quiz.py.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from redisqueue_tutor.lessons.model import Lesson
from redisqueue_tutor.lessons.questions import LETTERS, LEVELS, AnswerFrom, Level, Option, Question
from redisqueue_tutor.run.records import StepRecord, python_text, state_text
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
    word = line.split(":", 1)[0].removeprefix("Step ")
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
