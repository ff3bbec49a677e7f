"""The `frameworks` lesson's run: the same job, the month's report, through Celery, RQ and a bare
list. For each: the view sends it, a worker takes it and runs it, then a second report's worker is
killed (SIGKILL to every process of it) mid-task, with each framework's defaults (Celery's
prefork pool, its early ack).

    tutor step frameworks        (the lesson)
    tutor trace lessons/django/scenarios/frameworks_lesson.py

The scenario waits for its workers by reading their logs, or their processes' ends, so that it
adds no Redis command of its own between the frameworks'.
"""

import subprocess
import sys

from _project import (
    PROJECT,
    celery_worker,
    crashed,
    rq_burst,
    rqworker,
    setup,
    started,
    wait_for_log,
)

setup()

from django.test import Client  # noqa: E402  (after Django's setup)

SLOW = {"REPORT_SECONDS": "30"}  # the second report's work: long enough to be killed in it


# Celery: the view's .delay(), `celery worker`, and a worker killed mid-task.
Client().post("/reports/celery/", {"month": "2026-11"})
worker = celery_worker("first", log="info", pool="prefork")
wait_for_log(worker, "succeeded")
worker.terminate()
worker.wait()
Client().post("/reports/celery/", {"month": "2026-12"})
worker = celery_worker("second", log="info", pool="prefork", **SLOW)
wait_for_log(worker, "acked shop.tasks.build_report")  # mid-task, once acknowledged
crashed(worker)

# RQ: the view's django_rq.enqueue(), `manage.py rqworker`, and a worker killed mid-job.
Client().post("/reports/rq/", {"month": "2026-11"})
rq_burst()
Client().post("/reports/rq/", {"month": "2026-12"})
worker = started(rqworker(), **SLOW)
wait_for_log(worker, "building the report for 2026-12")
crashed(worker)  # and its work horse, the process that runs the job

# A bare list: the view's LPUSH, `python -m shop.listworker` (BRPOP), and a worker killed mid-job.
listworker = [sys.executable, "-m", "shop.listworker"]
Client().post("/reports/list/", {"month": "2026-11"})
subprocess.run([*listworker, "--burst"], check=True, cwd=PROJECT, stdout=subprocess.DEVNULL)
Client().post("/reports/list/", {"month": "2026-12"})
worker = started(listworker, **SLOW)
wait_for_log(worker, "building the report for 2026-12")
crashed(worker)
