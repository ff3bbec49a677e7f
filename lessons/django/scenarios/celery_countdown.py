"""Celery: a task with a countdown longer than the visibility timeout runs more than once.

    tutor trace lessons/django/scenarios/celery_countdown.py

`apply_async(countdown=6)` does not park the task in Redis: a worker takes it at once and holds
it, the message kept in `unacked` and scored with the time it was delivered, not the time it is
due. Once the visibility timeout (2 s here, an hour by default) has passed, a worker puts it back
on the queue and a worker takes it again: at the due time each copy runs.
"""

import os
import time

os.environ["SHOP_VISIBILITY_TIMEOUT"] = "2"

from _project import celery_worker, setup

setup()

import redis  # noqa: E402  (after Django's setup)
from django.conf import settings  # noqa: E402
from shop.tasks import send_reminder  # noqa: E402
from shopsite import celery_app  # noqa: E402

workers = [celery_worker("first"), celery_worker("second")]
deadline = time.monotonic() + 30
while len(celery_app.control.ping(timeout=0.5)) < 2 and time.monotonic() < deadline:
    pass  # until both workers answer: ready to take tasks
shop = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
result = send_reminder.apply_async(("ana@example.com",), countdown=6)
while not shop.hlen("unacked") and time.monotonic() < deadline:
    time.sleep(0.1)  # until a worker has taken it, long before it is due
print("taken at once: the queue holds", shop.llen("celery"), "- unacked", shop.hlen("unacked"))
time.sleep(9)  # past the due time, and several visibility timeouts
print("the reminder ran", shop.get("reminders_sent"), "times for one apply_async")
for worker in workers:
    worker.terminate()
    worker.wait()
