"""Celery: the signup view calls send_welcome_email.delay(); a worker process (-P solo) sends it.

tutor trace lessons/django/scenarios/celery_signup.py
"""

from _project import celery_worker, setup

setup()

from celery.result import AsyncResult  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402

worker = celery_worker()
response = Client().post("/signup/", {"email": "ana@example.com"})
task = response.json()["task"]
print("the worker says:", AsyncResult(task).get(timeout=30))
worker.terminate()
worker.wait()
