"""Celery: the signup view calls send_welcome_email.delay(); a worker process (-P solo) sends it.

tutor trace lessons/django/scenarios/celery_signup.py
"""

import subprocess
import sys

from _project import setup

project = setup()

from celery.result import AsyncResult  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402

celery = ["-m", "celery", "-A", "shopsite", "worker", "-P", "solo", "-l", "warning"]
quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
worker = subprocess.Popen([sys.executable, *celery, *quiet], cwd=project)
response = Client().post("/signup/", {"email": "ana@example.com"})
task = response.json()["task"]
print("the worker says:", AsyncResult(task).get(timeout=30))
worker.terminate()
worker.wait()
