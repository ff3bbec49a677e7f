"""A Celery app on Redis: the broker and the result backend (the URLs from the environment)."""

import os

from celery import Celery

app = Celery(
    "celery_tasks",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://localhost:6379/0"),
)
app.conf.broker_connection_retry_on_startup = True


@app.task
def resize(name):
    return f"{name} resized"
