"""Every lesson gives the same step records on fakeredis and on a real redis-server.

The whole record is compared: each command (client, arguments as shown, reply, error), the output,
the queue state, the variables and what changed. Only `CommandRecord.sent` differs by design: it
carries the run's namespace, which is checked separately.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from redisqueue_tutor.lessons import discover, find_lesson
from redisqueue_tutor.lessons.engine import run_lesson
from redisqueue_tutor.run.backend import running
from redisqueue_tutor.run.records import StepRecord

ALL_LESSONS = sorted(discover())
# A scenario lesson's run (a Django project and its workers) has ids and clocks in it: compared
# normalised, below.
SCENARIOS = [i for i in ALL_LESSONS if find_lesson(i).scenario is not None]
LESSON_IDS = [i for i in ALL_LESSONS if i not in SCENARIOS]


def comparable(record: StepRecord) -> dict[str, Any]:
    return {
        "number": record.number,
        "actor": record.actor,
        "action": record.action,
        "commands": [(c.client, c.args, c.reply, c.error) for c in record.commands],
        "output": record.output,
        "state": record.state,
        "variables": record.variables,
        "changed": sorted(record.changed),
    }


def play(lesson_id: str, spec: str) -> tuple[list[dict[str, Any]], list[StepRecord], str]:
    with running(spec) as backend:
        start, records = run_lesson(find_lesson(lesson_id), backend)
        prefix = backend.namespace.prefix
    return [comparable(r) for r in [start, *records]], records, prefix


def assert_same_run(fake: list[dict[str, Any]], real: list[dict[str, Any]]) -> None:
    assert len(fake) == len(real)
    for on_fake, on_real in zip(fake, real, strict=True):
        for field in on_fake:
            assert on_fake[field] == on_real[field], (
                f"step {on_fake['number']} {field}: fakeredis {on_fake[field]!r}"
                f" != redis-server {on_real[field]!r}"
            )


def test_lessons_are_discovered():
    assert {"queue", "queue-rpush"} <= set(LESSON_IDS)


@pytest.mark.real
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_every_lesson_records_the_same_on_fakeredis_and_redis_server(lesson_id, redis_server):
    fake, _records, _prefix = play(lesson_id, "fake")
    real, records, prefix = play(lesson_id, redis_server.url)
    assert_same_run(fake, real)

    # What went over the wire was namespaced: every argument shown short was sent with the prefix.
    namespaced = 0
    for record in records:
        for command in record.commands:
            if not command.sent:
                continue  # a pub/sub message: nothing was sent for it
            for shown, sent in zip(command.args, command.sent, strict=True):
                assert sent in (shown, prefix + shown)
                namespaced += sent == prefix + shown
    assert namespaced > 0


@pytest.mark.real
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_every_lesson_records_the_same_over_tls_with_a_password(lesson_id, start_server, tls_files):
    server = start_server(password="s3cret pass", tls=tls_files)
    url = server.url.replace("s3cret pass", "s3cret%20pass")  # a password needing URL quoting
    assert url.startswith("rediss://:s3cret%20pass@")
    fake, _records, _prefix = play(lesson_id, "fake")
    real, _records, _prefix = play(lesson_id, url)
    assert_same_run(fake, real)


# --------------------------------------------------------------------------------------------------
# Scenario lessons: what each step shows, with what changes from run to run normalised

_CLOCKS = re.compile(
    r"\b1[0-9]{12}-[0-9]+\b"  # a stream entry's id: milliseconds since 1970
    r"|\b1[0-9]{9}(\.[0-9]+)?\b"  # a time in seconds since 1970
    r"|\b20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?"  # a time as ISO 8601 writes it
    r"|(?<=eta )[0-9]{2}:[0-9]{2}:[0-9]{2}\b"  # a Celery message's due time
)
_IDS = re.compile(r"\b[0-9a-f]{8}(…|-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def normalised(text: str) -> str:
    return _IDS.sub("<id>", _CLOCKS.sub("<time>", text))


def shown(lesson_id: str, spec: str) -> list[dict[str, Any]]:
    from redisqueue_tutor.modes.scenario import run_whole
    from redisqueue_tutor.run.tables import execution_row

    lesson = find_lesson(lesson_id)
    with running(spec) as backend:
        _start, records = run_whole(lesson, backend)
    rows = []
    for record in records:
        row = execution_row(record, frozenset(lesson.key_names))
        rows.append(
            {
                "number": record.number,
                "actor": record.actor,
                # Sorted: between one worker's connections (its BRPOP's and its restore's) the
                # order is the order their replies arrived, which may differ from run to run.
                "commands": sorted(
                    normalised(f"{c.client}: {c.command} -> {c.reply} ({c.note})")
                    for c in row.lines
                ),
                "state": normalised(row.state),
                "output": normalised(row.output),
                "changed": sorted(record.changed),
            }
        )
    return rows


@pytest.mark.real
@pytest.mark.parametrize("lesson_id", SCENARIOS)
def test_every_scenario_lesson_shows_the_same_on_fakeredis_and_redis_server(
    lesson_id, redis_server
):
    fake = shown(lesson_id, "fake")
    real = shown(lesson_id, redis_server.url)
    assert len(fake) == len(real) == len(find_lesson(lesson_id).steps)
    for on_fake, on_real in zip(fake, real, strict=True):
        for field in on_fake:
            assert on_fake[field] == on_real[field], (
                f"step {on_fake['number']} {field}: fakeredis {on_fake[field]!r}"
                f" != redis-server {on_real[field]!r}"
            )
    assert any("<id>" in line for row in fake for line in row["commands"])  # it normalised
