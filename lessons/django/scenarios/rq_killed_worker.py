"""RQ: the worker running a job is killed (SIGKILL to it and its work horse, as a redeploy or the
OOM killer does). The job is not put back on the queue.

    tutor trace lessons/django/scenarios/rq_killed_worker.py

Its id stays in the started-job registry (rq:wip:default) and its status stays "started"; another
worker does not take it. Only RQ's maintenance pass, minutes later, moves it to the failed-job
registry as abandoned; it runs again only if it was enqueued with Retry.
"""

import os
import signal
import subprocess
import sys
import time

from _project import setup

project = setup()

import django_rq  # noqa: E402  (after Django's setup)
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from shop.jobs import slow_report  # noqa: E402

shop = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
queue = django_rq.get_queue("default")
job = queue.enqueue(slow_report, "2026-11")
worker = subprocess.Popen(
    [sys.executable, "manage.py", "rqworker", "default"],
    cwd=project,
    stdout=subprocess.DEVNULL,
    start_new_session=True,  # its own group: the kill reaches the work horse it forks
)
while shop.get("reporting") is None:  # the worker has taken the job and started it
    time.sleep(0.2)
os.killpg(worker.pid, signal.SIGKILL)
worker.wait()
job.refresh()
print("killed mid-job; the queue holds", queue.count, "jobs; the job is", job.get_status().value)
print("started-job registry:", queue.started_job_registry.get_job_ids())
burst = [sys.executable, "manage.py", "rqworker", "default", "--burst"]
subprocess.run(burst, check=True, cwd=project, stdout=subprocess.DEVNULL)
job.refresh()
print("after another worker: the job is", job.get_status().value)
