"""A queue on a bare Redis list, as a project writes one by hand: the view LPUSHes the job as JSON,
`python -m shop.listworker` BRPOPs it and runs it. No copy is kept while it runs, no ack follows."""

import json

import redis
from django.conf import settings

QUEUE = "reports"


def connect():
    return redis.Redis.from_url(settings.REDIS_URL)


def enqueue(month):
    connect().lpush(QUEUE, json.dumps({"job": "build_report", "month": month}))


def take(client, timeout):
    """The next job, or None once the queue has been empty for `timeout` seconds."""
    taken = client.brpop([QUEUE], timeout=timeout)
    return None if taken is None else json.loads(taken[1])
