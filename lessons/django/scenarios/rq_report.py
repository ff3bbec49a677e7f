"""RQ through django-rq: the report view enqueues make_report; `manage.py rqworker --burst` runs it.

tutor trace lessons/django/scenarios/rq_report.py
"""

from _project import rq_burst, setup

setup()

import django_rq  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402

response = Client().post("/report/", {"month": "2026-11"})
job = django_rq.get_queue("default").fetch_job(response.json()["job"])
print("enqueued:", job.get_status().value)
rq_burst()
job.refresh()
print("after the worker:", job.get_status().value, "-", job.return_value())
