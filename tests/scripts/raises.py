"""Pops from an empty queue and calls .decode() on None."""

import redis

r = redis.Redis()
r.lpush("queue", "task1")
r.rpop("queue")
task = r.rpop("queue")
print(task.decode())
