"""The queue seed in our own words: a producer pushes two tasks, a consumer pops them in order."""

import redis

r = redis.Redis()
r.lpush("queue", "task1")
r.lpush("queue", "task2")
for _ in range(3):
    task = r.rpop("queue")
    print(task.decode("utf-8") if task is not None else None)
