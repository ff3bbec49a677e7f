"""The `celery` lesson's run: a signup view sends a task, a worker runs it, and then what people
get wrong, happening: a worker killed mid-task with acks_late, the task waiting in `unacked` for
the visibility timeout and run a second time by another worker.

    tutor step celery            (the lesson)
    tutor trace lessons/django/scenarios/celery_lesson.py

The scenario waits for its workers by reading their logs, as a person watching them would, so
that it adds no Redis command of its own between the framework's.
"""

import signal

from _project import celery_worker, setup, wait_for_log

setup()

from celery.result import AsyncResult  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402
from shop.tasks import resize_photo  # noqa: E402

# 1. The signup view sends the task; no worker runs yet, so the message waits in the list.
response = Client().post("/signup/", {"email": "ana@example.com"})
task = response.json()["task"]

# 2. A worker starts, takes the message, runs the task and stores its result.
worker = celery_worker("first", log="info")
wait_for_log(worker, "succeeded")
print("the view reads the result:", AsyncResult(task).get(timeout=30))
worker.terminate()
worker.wait()

# 3. acks_late, and a worker killed mid-task (as a deploy or the OOM killer does).
late = {"ACKS_LATE": "1", "VISIBILITY_TIMEOUT": "2"}
worker = celery_worker("second", log="info", **late)
result = resize_photo.delay("photo.jpg")
wait_for_log(worker, "resizing photo.jpg")
worker.send_signal(signal.SIGKILL)
worker.wait()

# 4. Another worker finds the message in unacked once the visibility timeout has passed, puts it
#    back on the queue, and runs the task again: at least once.
worker = celery_worker("third", log="info", **late)
wait_for_log(worker, "succeeded")
print("after the restart:", result.get(timeout=30))
worker.terminate()
worker.wait()
