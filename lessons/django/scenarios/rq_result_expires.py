"""RQ: a job's result is kept result_ttl seconds (500 by default), then it is gone with the job.

    tutor trace lessons/django/scenarios/rq_result_expires.py

When a job finishes, the worker gives its hash (rq:job:<id>) and its results stream
(rq:results:<id>) an EXPIRE of result_ttl: 5 s here. Asking after that finds no job at all.
"""

import time

from _project import rq_burst, setup

setup()

import django_rq  # noqa: E402  (after Django's setup)
from rq.exceptions import NoSuchJobError  # noqa: E402
from rq.job import Job  # noqa: E402
from shop.jobs import make_report  # noqa: E402

queue = django_rq.get_queue("default")
job = queue.enqueue(make_report, "2026-11", result_ttl=5)
rq_burst()
print("at once:", Job.fetch(job.id, connection=queue.connection).return_value())
time.sleep(6)
try:
    print("6 s later:", Job.fetch(job.id, connection=queue.connection).return_value())
except NoSuchJobError:
    print("6 s later: no such job; its result is gone with it")
