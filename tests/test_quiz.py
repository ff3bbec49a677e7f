"""Quiz mode's pure core: the question schema, reading answers, grading, selection, generated
questions, and proving answer keys against the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from redisqueue_tutor.lessons import LessonError, discover, find_lesson, parse_lesson
from redisqueue_tutor.lessons.check import check_paths, compare
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.lessons.generated import generated_questions, predict_question, quiz_pool
from redisqueue_tutor.lessons.questions import LEVELS, AnswerFrom, Question
from redisqueue_tutor.lessons.quiz import (
    Outcome,
    QuizItem,
    Reply,
    grade,
    option_orders,
    parse_answer,
    prove_keys,
    run_value,
    select,
    summarize,
    variant,
)
from redisqueue_tutor.run.backend import running
from tests.conftest import LESSONS


def _run(lesson_id: str):
    lesson = find_lesson(lesson_id)
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    return lesson, start, records


def _run_variant(lesson):
    with running("fake") as backend:
        return run_lesson(lesson, backend)[1]


def _question(**changes) -> Question:
    data = {
        "id": "q",
        "level": "easy",
        "prompt": "Which?",
        "options": [
            {"text": "right"},
            {"text": "wrong", "misconception": "Believes the wrong thing"},
            {"text": "other", "misconception": "Believes another thing"},
        ],
        "answer": "A",
        "hint": "Think.",
        "solution": ["Because."],
    }
    data.update(changes)
    return Question.model_validate(data)


# --------------------------------------------------------------------------------------------------
# Schema


def test_a_wrong_option_must_name_its_misconception():
    with pytest.raises(ValueError, match="option B is wrong, so it needs the misconception"):
        _question(options=[{"text": "right"}, {"text": "wrong"}])


def test_the_answer_letter_must_be_an_option():
    with pytest.raises(ValueError, match="answer D is not one of the 3 options"):
        _question(answer="D")


def test_two_options_with_the_same_text_are_refused():
    with pytest.raises(ValueError, match="same text"):
        _question(options=[{"text": "x"}, {"text": "x", "misconception": "m"}])


def test_answer_from_needs_what_its_field_reads():
    with pytest.raises(ValueError, match='field "output" needs step'):
        _question(answer_from={"field": "output"})
    with pytest.raises(ValueError, match='field "variable" needs variable'):
        _question(answer_from={"field": "variable", "step": 1})
    with pytest.raises(ValueError, match='field "step" needs state'):
        _question(answer_from={"field": "step"})
    with pytest.raises(ValueError, match="exactly once"):
        _question(answer_from={"field": "output", "step": 1, "template": "Step"})


def test_a_bad_question_in_a_lesson_file_names_file_field_and_line(tmp_path: Path):
    text = (LESSONS / "queue.toml").read_text()
    broken = text.replace(
        'answer = "C"\nhint = "Look at the Queue State after step 2',
        'answer = "F"\nhint = "Look at the Queue State after step 2',
        1,
    )
    assert broken != text
    with pytest.raises(LessonError) as error:
        parse_lesson(broken, tmp_path / "queue.toml")
    assert "questions[2]" in str(error.value)
    assert "answer F is not one of the 4 options" in str(error.value)


# --------------------------------------------------------------------------------------------------
# Reading and grading answers


@pytest.mark.parametrize(
    ("text", "reply", "position"),
    [
        ("a", Reply.ANSWER, 0),
        (" C \n", Reply.ANSWER, 2),
        ("b)", Reply.ANSWER, 1),
        ("h", Reply.HINT, -1),
        ("?", Reply.HINT, -1),
        ("q", Reply.QUIT, -1),
        ("e", Reply.INVALID, -1),  # only four options
        ("ab", Reply.INVALID, -1),
        ("", Reply.INVALID, -1),
        ("1", Reply.INVALID, -1),
    ],
)
def test_parse_answer(text: str, reply: Reply, position: int):
    parsed = parse_answer(text, 4)
    assert (parsed.reply, parsed.position) == (reply, position)


def test_grade_right_and_wrong_with_the_misconception_of_the_option_shown():
    item = QuizItem(_question(), (2, 0, 1))  # shown: C=other... A=other, B=right, C=wrong
    assert item.answer_position == 1 and item.answer_letter == "B"
    assert grade(item, 1) == Outcome("q", 1, True)
    wrong = grade(item, 0, hinted=True)
    assert not wrong.correct
    assert wrong.misconception == "Believes another thing"
    assert wrong.hinted
    with pytest.raises(ValueError):
        grade(item, 3)


# --------------------------------------------------------------------------------------------------
# Selection


def _pool() -> list[Question]:
    lesson, start, records = _run("queue")
    return quiz_pool(lesson, start, records)


def test_the_same_seed_gives_the_same_quiz_and_another_seed_another():
    pool = _pool()
    first = select(pool, seed=7, count=6)
    assert first == select(pool, seed=7, count=6)
    others = {
        tuple((i.question.id, i.order) for i in select(pool, seed=s, count=6)) for s in range(5)
    }
    assert len(others) > 1


def test_a_quiz_climbs_from_easy_to_hard_and_respects_count_and_level():
    pool = _pool()
    items = select(pool, seed=3, count=8)
    levels = [LEVELS.index(i.question.level) for i in items]
    assert len(items) == 8 and levels == sorted(levels)
    hard = select(pool, seed=3, level="hard", count=None)
    assert hard and {i.question.level for i in hard} == {"hard"}
    assert len(hard) == len([q for q in pool if q.level == "hard"])


def test_no_shuffle_keeps_the_lesson_order_but_deals_the_options():
    pool = _pool()
    items = select(pool, seed=99, count=None, shuffle=False)
    for level in LEVELS:
        ids = [i.question.id for i in items if i.question.level == level]
        assert ids == [q.id for q in pool if q.level == level]
    # Options are never in the file's order as a rule: the order is the seed's, not the file's.
    assert any(i.order != tuple(range(len(i.question.options))) for i in items)
    assert select(pool, seed=99, count=None, shuffle=False) == items
    other = select(pool, seed=100, count=None, shuffle=False)
    assert [i.question.id for i in other] == [i.question.id for i in items]
    assert [i.order for i in other] != [i.order for i in items]


def _all_at_a(question: Question) -> Question:
    """The same question with its key moved to A, as a file whose every answer is A has it."""
    key = question.answer_index
    options = [question.options[key], *(o for i, o in enumerate(question.options) if i != key)]
    return question.model_copy(update={"options": options, "answer": "A"})


def test_option_order_does_not_read_which_option_is_right():
    # The same seed deals the same permutation whatever letter the file gives the key (the
    # redraw for "every key at one letter" never happens with this many questions).
    pool = _pool()
    moved = [_all_at_a(q) for q in pool]
    assert len(pool) > 8
    for seed in range(20):
        orders = option_orders(pool, seed)
        assert orders == option_orders(moved, seed)
        assert all(
            sorted(order) == list(range(len(q.options)))
            for q, order in zip(pool, orders, strict=True)
        )


@pytest.mark.parametrize("lesson_id", sorted(discover()))
def test_no_no_shuffle_quiz_has_every_answer_at_one_letter(lesson_id):
    lesson, start, records = _run(lesson_id)
    pool = quiz_pool(lesson, start, records)
    every_a = [_all_at_a(q) for q in pool]  # the worst a lesson file can do
    for questions in (pool, every_a, lesson.questions):
        for seed in range(30):
            for count in (2, 3, 10, None):
                items = select(questions, seed=seed, count=count, shuffle=False)
                if len(items) < 2:
                    continue
                letters = {item.answer_letter for item in items}
                assert len(letters) > 1, (lesson_id, seed, count, letters)


def test_generated_questions_are_dealt_like_the_lessons_own():
    lesson, start, records = _run("queue")
    generated = generated_questions(lesson, start, records)
    assert len(generated) >= 2
    letters = {
        item.answer_letter
        for seed in range(10)
        for item in select(generated, seed=seed, count=None, shuffle=False)
    }
    assert len(letters) >= 3


def test_shuffle_moves_the_key_around():
    pool = _pool()
    letters = {i.answer_letter for s in range(4) for i in select(pool, seed=s)}
    assert len(letters) >= 3


def test_only_keeps_the_questions_named():
    items = select(_pool(), seed=1, only={"empty-at", "run-pop-5", "gone-from-the-lesson"})
    assert sorted(i.question.id for i in items) == ["empty-at", "run-pop-5"]


def test_summary_counts_lists_misconceptions_once_and_what_to_review():
    pool = {q.id: q for q in _pool()}
    items = [
        QuizItem(pool[i], (0, 1, 2, 3))
        for i in ("popped-at-step-3", "queue-after-pop", "fifo-shape")
    ]
    outcomes = [
        grade(items[0], 1),  # 'task2': confuses RPOP with LPOP
        grade(items[1], 0),  # right
    ]
    summary = summarize(items, outcomes, 75.0, "queue")
    assert (summary.score, summary.answered, summary.planned) == (1, 2, 3)
    assert not summary.complete
    assert summary.misconceptions == (pool["popped-at-step-3"].options[1].misconception,)
    assert summary.review == ("Step 3: tutor step queue, then 3 Enter",)
    assert summary.missed == ("popped-at-step-3",) and summary.right == ("queue-after-pop",)


# --------------------------------------------------------------------------------------------------
# Generated questions


def test_generated_pop_question_has_typical_mistakes_as_wrong_options():
    lesson, start, records = _run("queue")
    by_id = {q.id: q for q in generated_questions(lesson, start, records)}
    pop = by_id["run-pop-3"]
    assert pop.key.text == "'task1'"
    wrong = {o.text: o.misconception for o in pop.options if o is not pop.key}
    assert wrong["'task2'"].startswith("Confuses RPOP with LPOP")  # the wrong end
    assert "decode_responses=True" in wrong["b'task1'"]  # bytes against str
    assert by_id["run-pop-7"].key.text == "None"
    assert "'task2'" in {o.text for o in by_id["run-pop-7"].options}  # one pop behind


def test_generated_state_question_offers_reversed_order_and_one_step_off():
    lesson, start, records = _run("queue")
    state = {q.id: q for q in generated_questions(lesson, start, records)}["run-state-2"]
    assert state.key.text == "['task2', 'task1']"
    wrong = {o.text: o.misconception for o in state.options if o is not state.key}
    assert wrong["['task1', 'task2']"] == "Confuses LPUSH with RPUSH: LPUSH adds at the head (left)"
    assert "Reads the row before" in wrong["['task1']"]


def test_generated_questions_for_a_bytes_client_offer_str_as_the_mistake():
    lesson = parse_lesson(
        (LESSONS / "queue.toml")
        .read_text()
        .replace('name = "consumer"\n', 'name = "consumer"\ndecode_responses = false\n'),
        "queue.toml",
    )
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    pop = {q.id: q for q in generated_questions(lesson, start, records)}["run-pop-3"]
    assert pop.key.text == "b'task1'"
    assert any(
        "decode_responses=False" in o.misconception for o in pop.options if o.text == "'task1'"
    )


@pytest.mark.parametrize("lesson_id", ["queue", "queue-rpush"])
def test_every_generated_key_is_proven_by_the_run_and_not_always_a(lesson_id: str):
    lesson, start, records = _run(lesson_id)
    generated = generated_questions(lesson, start, records)
    assert len(generated) >= 5
    proofs = prove_keys(lesson, records, questions=generated)
    assert len(proofs) == len(generated) and all(p.ok for p in proofs)
    assert len({q.answer for q in generated}) > 1


def test_the_pool_skips_generated_questions_the_lesson_already_asks():
    lesson, start, records = _run("queue")
    ids = [q.id for q in quiz_pool(lesson, start, records)]
    assert "popped-at-step-3" in ids and "run-pop-3" not in ids  # same value, same step
    assert "queue-after-pop" in ids and "run-state-3" not in ids
    assert "run-pop-5" in ids
    assert len(ids) == len(set(ids))


def test_predict_question_asks_the_pop_value_or_the_new_queue_and_nothing_else():
    lesson, start, records = _run("queue")
    assert predict_question(lesson, start, records[:1]).id == "run-state-1"
    assert predict_question(lesson, start, records[:3]).id == "run-pop-3"
    assert predict_question(lesson, start, records[:4]) is None  # processing: no command
    assert predict_question(lesson, start, []) is None


# --------------------------------------------------------------------------------------------------
# Proving keys


@pytest.mark.parametrize("lesson_id", ["queue", "queue-rpush"])
def test_every_lesson_has_ten_questions_across_levels_all_proven(lesson_id: str):
    lesson, _start, records = _run(lesson_id)
    assert len(lesson.questions) >= 10
    assert {q.level for q in lesson.questions} == set(LEVELS)
    assert len({q.id for q in lesson.questions}) == len(lesson.questions)
    proofs = prove_keys(lesson, records, _run_variant)
    assert len(proofs) >= 5
    assert [p for p in proofs if not p.ok] == []


def test_the_queue_lesson_asks_what_the_first_seed_quiz_asks():
    lesson, _start, records = _run("queue")
    by_id = {q.id: q for q in lesson.questions}
    assert by_id["popped-at-step-3"].key.text == "'task1'"
    assert by_id["empty-at"].key.text == "Step 5"
    assert by_id["rpush-order"].key.text == "['task1', 'task2']"
    assert by_id["rpush-order"].answer_from.what_if == {"LPUSH": "RPUSH"}


def test_a_key_that_disagrees_with_redis_fails_the_check(tmp_path: Path):
    text = (LESSONS / "queue.toml").read_text()
    # Claim the queue is empty at step 3 instead of step 5.
    lying = text.replace(
        'options = [\n  { text = "Step 5" },\n  { text = "Step 3", misconception = "Thinks one RPOP empties the list; it removes one item" },',
        'options = [\n  { text = "Step 3" },\n  { text = "Step 5", misconception = "Thinks one RPOP empties the list; it removes one item" },',
    )
    assert lying != text
    path = tmp_path / "queue.toml"
    path.write_text(lying)
    (result,) = check_paths([path], "fake")
    assert not result.ok
    (mismatch,) = result.mismatches
    assert "question empty-at" in mismatch.field
    assert (mismatch.expected, mismatch.actual) == ("Step 3", "Step 5")


def test_a_wrong_what_if_key_fails_and_needs_the_variant_run():
    lesson, _start, records = _run("queue")
    (question,) = [q for q in lesson.questions if q.id == "rpush-order"]
    swapped = question.model_copy(
        update={
            "options": [
                question.options[1].model_copy(update={"misconception": ""}),
                question.options[0].model_copy(update={"misconception": "m"}),
                *question.options[2:],
            ]
        }
    )
    assert prove_keys(lesson, records, None, [swapped]) == []  # not provable without a variant run
    (proof,) = prove_keys(lesson, records, _run_variant, [swapped])
    assert not proof.ok and proof.actual == "['task1', 'task2']"


def test_a_key_is_compared_with_the_value_as_python_prints_it():
    lesson, _start, records = _run("queue")
    question = _question(
        options=[{"text": "'task1'"}, {"text": "'task1' ", "misconception": "m"}],
        answer_from={"field": "variable", "step": 3, "variable": "task"},
    )
    assert prove_keys(lesson, records, questions=[question])[0].ok
    clash = _question(
        options=[{"text": "'task2'"}, {"text": "'task1'", "misconception": "m"}],
        answer_from={"field": "variable", "step": 3, "variable": "task"},
    )
    proof = prove_keys(lesson, records, questions=[clash])[0]
    assert proof.problem == "key differs from the run"


def test_compare_counts_answer_keys_as_claims():
    lesson, _start, records = _run("queue")
    without_questions = lesson.model_copy(update={"questions": []})
    base, _ = compare(without_questions, records)
    claims, mismatches = compare(lesson, records, _run_variant)
    assert mismatches == []
    assert claims - base == len([q for q in lesson.questions if q.answer_from])


def test_variant_swaps_command_words_and_drops_claims():
    lesson = find_lesson("queue")
    swapped = variant(lesson, {"LPUSH": "RPUSH"})
    assert [s.command for s in swapped.steps][:3] == [
        "RPUSH queue task1",
        "RPUSH queue task2",
        "RPOP queue",
    ]
    assert all(s.expect is None for s in swapped.steps)
    assert lesson.steps[0].command == "LPUSH queue task1"  # the lesson itself is untouched


def test_a_reply_key_is_the_answer_to_the_steps_own_command_not_the_messages_delivered():
    lesson, _start, records = _run("pubsub")
    publish = next(
        r for r in records if r.commands and r.commands[0].name == "PUBLISH" and len(r.commands) > 1
    )
    assert any(c.client != publish.actor for c in publish.commands)  # a listener got the message
    assert run_value(AnswerFrom(field="reply", step=publish.number), records) == "(integer) 1"
