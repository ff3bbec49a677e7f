"""Scenario lessons: a program's run cut into the lesson's steps (lessons/scenario.py), the format
that says how (`[scenario]`, `until`, `match`), what `tutor check` proves of them, and the
`celery` lesson end to end (its fake-vs-real parity is in test_parity.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redisqueue_tutor.lessons import LessonError
from redisqueue_tutor.lessons.check import compare
from redisqueue_tutor.lessons.loading import parse_lesson
from redisqueue_tutor.lessons.payloads import summarised
from redisqueue_tutor.lessons.scenario import ScenarioError, ScenarioRun
from redisqueue_tutor.run.records import (
    CommandRecord,
    DictValue,
    ListValue,
    StepRecord,
    Summary,
    python_text,
)
from redisqueue_tutor.run.runfile import Run, TracedStep

ROOT = Path(__file__).resolve().parent.parent

LESSON = """
format = 1
id = "shop"
title = "A shop's worker"
level = "intermediate"
summary = "A view sends, a worker takes."
[concept]
flow = ["send", "take"]
text = "The view pushes, the worker pops."
[scenario]
program = "shop.py"
quiet = ["PING", "BRPOP * -> (nil)", "worker: SADD *"]
[[scenario.phrases]]
match = "LPUSH jobs *"
says = "the view queues the job"
[[scenario.phrases]]
match = "BRPOP jobs *"
says = "the worker takes it"
[[scenario.phrases]]
match = "HSET held *"
says = "and keeps a copy"
[[scenario.phrases]]
match = "HSET held *"
steps = [3]
says = "a second copy, at step 3"
[[scenario.phrases]]
match = "SADD *"
says = "the binding"
[[clients]]
name = "web"
match = ["main"]
[[clients]]
name = "worker"
match = ["worker-*"]
[[state]]
key = "jobs"
[[state]]
key = "held"
type = "hash"
[[steps]]
actor = "web"
action = "The view sends"
until = "LPUSH jobs *"
[[steps]]
actor = "worker"
action = "The worker takes it and keeps a copy"
until = "HSET held *"
[[steps]]
actor = "worker"
action = "Again"
until = "HSET held *"
"""


def lesson_file(tmp_path: Path, text: str = LESSON) -> Path:
    (tmp_path / "shop.py").write_text("print('the program')\n")
    path = tmp_path / "shop.toml"
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str = LESSON):
    path = lesson_file(tmp_path, text)
    return parse_lesson(path.read_text(), path)


def traced(thread: str, *commands: tuple, watched=(), action: str = "") -> TracedStep:
    records = tuple(CommandRecord(thread, tuple(args), reply, None) for *args, reply in commands)
    record = StepRecord(0, thread, action or f"{thread}: (inside a library)", records, "", (), ())
    return TracedStep(record, thread, watched)


def run_of(*steps: TracedStep) -> Run:
    return Run("t", "shop.py", "embedded", (), (), (), tuple(steps))


HELD = (("jobs", "none", None), ("held", "hash", DictValue([("1", "job")])))
EMPTY = (("jobs", "none", None), ("held", "none", None))
QUEUED = (("jobs", "list", ListValue(["job"])), ("held", "none", None))


def sample_run() -> Run:
    """A worker whose commands interleave with the view's, as a race would have them."""
    return run_of(
        traced("worker-7", ("PING", "PONG"), watched=EMPTY),
        traced("worker-7", ("SADD", "bindings", "jobs", 1), watched=EMPTY),
        traced("worker-7", ("BRPOP", "jobs", "1", None), watched=EMPTY),  # idle: quiet
        traced("main", ("SADD", "bindings", "jobs", 1), watched=EMPTY, action="views.py:3: push()"),
        traced("main", ("LPUSH", "jobs", "job", 1), watched=QUEUED, action="views.py:3: push()"),
        traced("worker-7", ("BRPOP", "jobs", "1", ("jobs", "job")), watched=EMPTY),
        traced(
            "worker-7",
            ("MULTI", "OK"),
            ("HSET", "held", "1", "job", "QUEUED"),
            ("EXEC", (1,)),
            watched=HELD,
        ),
        traced("connection 3", ("GET", "other", None), watched=HELD),  # no lane: quiet
        traced("worker-7", ("HSET", "held", "2", "job", 1), watched=HELD),
        traced("worker-7", ("LLEN", "jobs", 0), watched=HELD),  # after the last step: hidden
    )


# --------------------------------------------------------------------------------------------------
# Cutting a run into steps


def test_each_lane_is_cut_where_its_steps_until_matches(tmp_path: Path):
    run = ScenarioRun(load(tmp_path), sample_run())
    records = list(run)
    assert [r.actor for r in records] == ["web", "worker", "worker"]
    shown = [[" ".join(map(str, c.args)) for c in r.commands] for r in records]
    assert shown == [
        ["SADD bindings jobs", "LPUSH jobs job"],
        ["BRPOP jobs 1", "HSET held 1 job"],
        ["HSET held 2 job"],
    ]
    # The transaction's HSET carries its own reply, from EXEC's; MULTI and EXEC are not rows.
    assert records[1].commands[1].reply == 1
    # The quiet ones (PING, the idle BRPOP, the worker's SADD) are counted where they happened,
    # never dropped; a client no lane stands for, and a command after its lane's last step, are
    # left out too but said to be undescribed (`tutor check` fails on them).
    assert [len(r.hidden) for r in records] == [0, 3, 0]  # the worker's, in its step
    assert records[2].undescribed == (
        "connection 3: GET other -> (nil)",
        "worker: LLEN jobs -> (integer) 0",
    )
    assert [m.field for m in compare(load(tmp_path), records)[1]] == ["a command no step shows"] * 2
    assert records[0].code == ("views.py:3: push()",)
    assert run.finished


def test_the_state_of_a_step_never_goes_back_in_time(tmp_path: Path):
    records = list(ScenarioRun(load(tmp_path), sample_run()))
    assert python_text(records[0].state[0][1]) == "['job']"
    assert python_text(records[1].state[1][1]) == "{'1': 'job'}"
    assert "state:held" in records[1].changed and "state:held" not in records[2].changed


def test_a_phrase_for_the_step_comes_before_the_general_one(tmp_path: Path):
    records = list(ScenarioRun(load(tmp_path), sample_run()))
    assert records[0].notes == ("the binding", "the view queues the job")
    assert records[1].notes == ("the worker takes it", "and keeps a copy")
    assert records[2].notes == ("a second copy, at step 3",)


def test_a_step_whose_until_never_comes_is_one_clear_error(tmp_path: Path):
    lesson = load(
        tmp_path,
        LESSON.replace('until = "HSET held *"\n"""', "").replace(
            'action = "Again"\nuntil = "HSET held *"', 'action = "Again"\nuntil = "HDEL held *"'
        ),
    )
    run = ScenarioRun(lesson, sample_run())
    assert [run.next_step().number, run.next_step().number] == [1, 2]  # shown as they come
    with pytest.raises(ScenarioError) as caught:
        run.next_step()
    assert str(caught.value) == (
        "step 3 (Again): worker sent no command matching 'HDEL held *' after 2 of its commands;"
        " the framework may have changed what it sends"
    )


def test_check_fails_a_command_the_lesson_does_not_describe(tmp_path: Path):
    lesson = load(tmp_path)
    run = run_of(*sample_run().traced[:7], traced("worker-7", ("HSET", "held", "2", "x", 1)))
    records = list(ScenarioRun(lesson, run))
    claims, mismatches = compare(lesson, records)
    assert not mismatches and claims == 5 + 5  # five commands shown, five phrases used
    assert lesson.scenario is not None
    phrases = lesson.scenario.phrases
    silent = lesson.model_copy(
        update={"scenario": lesson.scenario.model_copy(update={"phrases": phrases[1:]})}
    )
    _claims, mismatches = compare(silent, list(ScenarioRun(silent, run)))
    assert [str(m) for m in mismatches] == [
        "step 1 phrase: lesson says what each command does, Redis gave web: LPUSH jobs 'job'"
    ]
    # The view no longer declares its binding (a framework upgrade, say): the phrase says so.
    no_binding = run_of(*(t for t in run.traced if t.record.commands[0].args[0] != "SADD"))
    _claims, mismatches = compare(lesson, list(ScenarioRun(lesson, no_binding)))
    assert [str(m) for m in mismatches] == [
        "phrase 'SADD *': lesson says a command of the run, Redis gave no such command"
    ]


def test_a_claim_may_leave_out_what_changes_from_run_to_run(tmp_path: Path):
    text = LESSON.replace(
        'until = "LPUSH jobs *"',
        'until = "LPUSH jobs *"\nexpect = { state = "jobs=[\'*\']  held={}" }',
    )
    lesson = load(tmp_path, text)
    traced = sample_run().traced
    run = run_of(*traced[:7], traced[8])  # neither the unnamed client's GET nor the LLEN after
    records = list(ScenarioRun(lesson, run))
    assert compare(lesson, records)[1] == []
    wrong = load(tmp_path, text.replace("jobs=['*']", "jobs=['*', '*']"))
    assert [m.field for m in compare(wrong, records)[1]] == ["state"]


# --------------------------------------------------------------------------------------------------
# The format


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ('until = "LPUSH jobs *"\n', ""),
            "steps[1].until",
            "a scenario lesson's step needs until",
        ),
        (('match = ["main"]\n', ""), "clients[1].match", "a scenario lesson's client needs match"),
        (
            ('until = "LPUSH jobs *"\n', 'until = "LPUSH jobs *"\ncommand = "LPUSH jobs x"\n'),
            "steps[1].command",
            "a scenario lesson's step has no command: its program sends the commands",
        ),
        (
            ('program = "shop.py"', 'program = "nowhere.py"'),
            "scenario.program",
            "'nowhere.py' is not",
        ),
    ],
)
def test_a_malformed_scenario_lesson_names_its_field_and_line(tmp_path, change, field, message):
    with pytest.raises(LessonError) as caught:
        load(tmp_path, LESSON.replace(*change, 1))
    assert message in str(caught.value)
    assert caught.value.field == field
    assert caught.value.line is not None


def test_until_and_match_belong_to_scenario_lessons_only():
    plain = (ROOT / "lessons" / "queue.toml").read_text()
    with pytest.raises(LessonError) as caught:
        parse_lesson(
            plain.replace("action = \"Producer pushes 'task1'\"", 'action = "x"\nuntil = "LPUSH *"')
        )
    assert "until is for a lesson with a scenario" in str(caught.value)


# --------------------------------------------------------------------------------------------------
# Payloads told by what they are


def test_a_celery_message_is_told_by_its_task_and_kept_whole():
    message = json.dumps(
        {
            "body": "W1siYW5hQGV4YW1wbGUuY29tIl0sIHt9XQ==",
            "headers": {
                "task": "shop.tasks.send_welcome_email",
                "id": "7c2e5983-838a-4066-9503-7be113301073",
                "argsrepr": "('ana@example.com',)",
                "kwargsrepr": "{}",
                "eta": None,
            },
            "properties": {"delivery_tag": "x"},
        }
    )
    told = summarised(message)
    assert isinstance(told, Summary)
    assert python_text(told) == "<message send_welcome_email('ana@example.com')>"
    assert told.whole == message
    unacked = summarised(json.dumps([json.loads(message), "", "celery"]))
    assert str(unacked) == "<message send_welcome_email('ana@example.com')>"
    result = summarised(json.dumps({"status": "SUCCESS", "result": "done", "task_id": "1" * 36}))
    assert str(result) == "<result SUCCESS: 'done'>"
    key = summarised("celery-task-meta-7c2e5983-838a-4066-9503-7be113301073")
    assert str(key) == "celery-task-meta-7c2e5983…"
    assert summarised("a short value") == "a short value"
    assert summarised(b"\xff" * 100) == b"\xff" * 100


# --------------------------------------------------------------------------------------------------
# The celery lesson, for real


def tutor(*args: str, columns: int = 80) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TUTOR_REDIS_URL"}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = str(columns)
    return subprocess.Popen(
        [sys.executable, "-m", "redisqueue_tutor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


def framework_processes() -> list[str]:
    """Command lines of this checkout's lesson processes still running (the scenario's program
    and its workers, which run in the lessons' Django project), whoever else runs one."""
    project = ROOT / "lessons" / "django"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = (entry / "cwd").readlink()
        except OSError:
            continue
        ours = cwd == project or str(project) in cmdline
        if ours and ("shopsite" in cmdline or "celery_lesson.py" in cmdline):
            found.append(cmdline)
    return found


def test_the_celery_lesson_piped_shows_what_kombu_does():
    process = tutor("step", "celery", "--plain", columns=200)  # a row's lines unwrapped
    out, err = process.communicate(timeout=120)
    text = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Step 21 of 21" in text
    for said in (
        "the message goes onto the head of the list `celery`: the queue",
        "... and keeps a copy until the ack: taken is not done",
        "and puts the message back at the tail, where the next BRPOP takes it first",
    ):
        assert said in text, said
    assert "LPUSH celery <message send_welcome_email('ana@example.com')> -> (integer) 1" in text
    assert "quiet commands left out" in text
    assert all(len(line) <= 200 for line in text.splitlines())
    assert framework_processes() == []


def test_ctrl_c_while_the_scenario_runs_leaves_no_framework_process():
    process = tutor("step", "celery")
    deadline = time.monotonic() + 30
    while not framework_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert framework_processes(), "the lesson's workers never started"
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err.decode().strip().splitlines()[-1] == "Interrupted."
    deadline = time.monotonic() + 5
    while framework_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert framework_processes() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[concept]", 'variables = ["task"]\n[concept]'), "a scenario lesson has no variables"),
        (('match = ["main"]\n', 'match = ["main"]\non_message = "{data}"\n'), "does not listen"),
        (
            (
                'until = "LPUSH jobs *"\n',
                'until = "LPUSH jobs *"\nexpect = { variables = { a = "1" } }\n',
            ),
            "no variables to claim",
        ),
    ],
)
def test_what_a_scenario_lesson_cannot_have_is_refused(tmp_path, change, message):
    with pytest.raises(LessonError) as caught:
        load(tmp_path, LESSON.replace(*change, 1))
    assert message in str(caught.value)


def test_a_transaction_that_never_ran_is_quiet(tmp_path: Path):
    aborted = traced(
        "worker-7", ("MULTI", "OK"), ("HSET", "held", "9", "x", "QUEUED"), ("EXEC", None)
    )  # WATCH saw a change: nothing ran
    traced_steps = list(sample_run().traced)
    run = run_of(*traced_steps[:6], aborted, *traced_steps[6:])
    records = list(ScenarioRun(load(tmp_path), run))
    shown = [" ".join(map(str, c.args)) for r in records for c in r.commands]
    assert "HSET held 9 x" not in shown  # it did not end a step, nor show as a row
    assert any(
        h.endswith("HSET held 9 x -> QUEUED (queued in a transaction that never ran)")
        for r in records
        for h in r.hidden
    )


def test_a_lost_connection_ends_its_transaction_where_it_was_lost():
    from redisqueue_tutor.modes.trace.endpoint import Endpoint
    from redisqueue_tutor.run.proxy import WireEvent

    endpoint = Endpoint.__new__(Endpoint)
    endpoint._transactions = {}

    def event(*words: bytes, lost: bool = False) -> WireEvent:
        return WireEvent(
            1, "", words, None, "lost" if lost else None, None, False, 1, 0.0, lost=lost
        )

    assert endpoint._transaction(event(b"MULTI"), "multi") == []
    assert endpoint._transaction(event(b"LPUSH", b"q", b"x"), "lpush") == []
    assert endpoint._transaction(event(b"LPUSH", b"q", b"y", lost=True), "lost") == [
        "multi",
        "lpush",
        "lost",
    ]
    assert endpoint._transaction(event(b"GET", b"k"), "get") == ["get"]  # none is open now


def test_a_task_with_keyword_arguments_alone():
    message = json.dumps(
        {
            "headers": {
                "task": "shop.tasks.send_reminder",
                "argsrepr": "()",
                "kwargsrepr": "{'email': 'a@b.c'}",
            },
            "body": "x" * 80,
        }
    )
    assert str(summarised(message)) == "<message send_reminder(**{'email': 'a@b.c'})>"


def test_a_hash_read_whole_is_told_by_its_telling_fields():
    from redisqueue_tutor.lessons.payloads import summarised_reply

    reply = tuple((f"field{n}", str(n)) for n in range(8)) + (
        ("status", "queued"),
        ("description", "shop.jobs.make_report('2026-11')"),
    )
    told = summarised_reply(reply)
    assert str(told) == (
        "<hash of 10 fields: status 'queued', description \"shop.jobs.make_report('2026-11')\">"
    )
    assert isinstance(told, Summary) and "field7: 7" in told.whole
    assert summarised_reply(reply[:8]) == reply[:8]  # a short one stays as it is


def test_a_celery_result_that_raised_is_told_by_its_exception():
    body = json.dumps(
        {
            "status": "FAILURE",
            "result": {
                "exc_type": "DoesNotExist",
                "exc_message": ["Order matching query does not exist."],
                "exc_module": "shop.models",
            },
            "task_id": "c95fb9f3-ab5b-44bd-8539-000000000000",
        }
    )
    told = summarised(body)
    assert told == "<result FAILURE: DoesNotExist('Order matching query does not exist.')>"
    assert told.whole == body  # x shows it whole
