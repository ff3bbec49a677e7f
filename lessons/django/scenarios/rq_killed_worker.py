"""RQ: the worker running a job dies with its work horse (SIGKILL to both: a container or a node
taken down). The job is not put back on the queue.

    tutor trace lessons/django/scenarios/rq_killed_worker.py

Its id stays in the started-job registry (rq:wip:default) and its status stays "started"; another
worker does not take it. Only once its heartbeat score has passed (about 90 s) does RQ's clean-up
of that registry (when a worker starts, in its maintenance pass every 10 minutes, or when the
registry is listed) move it to the failed-job registry as abandoned; it runs again only if it
was enqueued with Retry. (When only the work horse dies, the worker fails the job at once.)
"""

import os
import signal
import subprocess
import time

from _project import PROJECT, rq_burst, rqworker, setup

setup()

import django_rq  # noqa: E402  (after Django's setup)
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from shop.jobs import slow_report  # noqa: E402

shop = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
queue = django_rq.get_queue("default")
job = queue.enqueue(slow_report, "2026-11")
worker = subprocess.Popen(rqworker(), cwd=PROJECT, stdout=subprocess.DEVNULL)
deadline = time.monotonic() + 30
while (horse := shop.get("reporting")) is None and time.monotonic() < deadline:
    time.sleep(0.2)  # until the worker's work horse has started the job
worker.kill()  # first, so that it cannot see its horse die and fail the job
worker.wait()
os.kill(int(horse), signal.SIGKILL)
job.refresh()
print("killed mid-job; the queue holds", queue.count, "jobs; the job is", job.get_status().value)
print("started-job registry:", queue.started_job_registry.get_job_ids())
rq_burst()
job.refresh()
print("after another worker: the job is", job.get_status().value)
