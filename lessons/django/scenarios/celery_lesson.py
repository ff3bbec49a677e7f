"""The `celery` lesson's run: a signup view sends a task, a worker runs it, and then what people
get wrong, happening: a worker killed mid-task with acks_late, the task waiting in `unacked` for
the visibility timeout and run a second time by another worker; and a task with a countdown
longer than the visibility timeout, held by a worker, put back, held again, and run twice.

    tutor step celery            (the lesson)
    tutor trace lessons/django/scenarios/celery_lesson.py

The scenario waits for its workers by reading their logs, as a person watching them would, so
that it adds no Redis command of its own between the framework's.
"""

import signal
import time

from _project import celery_worker, setup, wait_for_log, wait_for_logs

setup()

from celery.result import AsyncResult  # noqa: E402  (after Django's setup)
from django.test import Client  # noqa: E402
from shop.tasks import resize_photo, send_reminder  # noqa: E402

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

# 5. A countdown longer than the visibility timeout. A worker takes the task at once and holds it
#    until it is due, its copy in unacked getting older. A worker that starts once the copy is
#    older than the visibility timeout puts it back on the queue, and it is taken again: at the
#    due time both run. (Each worker looks for old copies only as it starts, here, so that the
#    copy is put back exactly once; by default about every 100 s, so a long one runs many times.)
held = {"VISIBILITY_TIMEOUT": "2", "RESTORE_INTERVAL": "300"}
reminder = send_reminder.apply_async(("ana@example.com",), countdown=12)
first = celery_worker("fourth", log="info", **held)
wait_for_log(first, "received")
time.sleep(2.5)  # the copy is now older than the visibility timeout
second = celery_worker("fifth", log="info", **held)
wait_for_logs([first, second], "succeeded", 2)
for worker in (first, second):
    worker.terminate()
    worker.wait()
