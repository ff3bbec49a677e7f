"""The `rq` lesson's run: a report view enqueues a job through django-rq and `manage.py rqworker`
runs it; then what people get wrong, happening: a job that raises goes to the failed-job
registry (retried once first, as asked), and a job scheduled for later waits until a worker runs
the scheduler.

    tutor step rq                (the lesson)
    tutor trace lessons/django/scenarios/rq_lesson.py

Each worker runs in burst mode (`--burst`: it runs what is queued, then ends), so the scenario
waits for it by waiting for its process, adding no Redis command of its own.
"""

import time
from datetime import timedelta

from _project import rq_burst, setup

setup()

import django_rq  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402
from rq import Retry  # noqa: E402
from shop.jobs import broken_report, make_report  # noqa: E402

# 1. The report view enqueues make_report; a burst worker runs it.
response = Client().post("/report/", {"month": "2026-11"})
rq_burst()

# 2. A job that raises, enqueued with one retry: it runs twice, then lands in the failed registry.
queue = django_rq.get_queue("default")
queue.enqueue(broken_report, "1999-01", retry=Retry(max=1))
rq_burst()

# 3. A job for later: a plain worker leaves it where it is; a worker with the scheduler runs it.
queue.enqueue_in(timedelta(seconds=1), make_report, "2026-12")
rq_burst()
time.sleep(1.2)  # past its time
rq_burst("--with-scheduler")
