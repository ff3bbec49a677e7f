"""Celery with acks_late: the worker running a task dies (SIGKILL to a -P solo worker; a container
or a node taken down does the same to any worker).

    tutor trace lessons/django/scenarios/celery_killed_worker.py

The message waits in `unacked` until the visibility timeout (3 s here, an hour by default) has
passed; then another worker puts it back on the queue and runs the task again: at least once.
"""

import os
import time

os.environ["SHOP_ACKS_LATE"] = "1"
os.environ["SHOP_VISIBILITY_TIMEOUT"] = "3"

from _project import celery_worker, setup

setup()

import redis  # noqa: E402  (after Django's setup)
from django.conf import settings  # noqa: E402
from shop.tasks import resize_photo  # noqa: E402

shop = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
first = celery_worker("first")
result = resize_photo.delay("photo.jpg")
deadline = time.monotonic() + 30
while shop.get("resizing") is None and time.monotonic() < deadline:
    time.sleep(0.2)  # until the first worker has taken the task and started it
first.kill()
first.wait()
print(
    "killed mid-task; unacked holds",
    shop.hlen("unacked"),
    "message, the queue",
    shop.llen("celery"),
)
second = celery_worker("second")
print("the second worker says:", result.get(timeout=30))
second.terminate()
second.wait()
