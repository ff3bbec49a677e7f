"""Move a task to a processing list atomically with MULTI/EXEC."""

import redis

r = redis.Redis(decode_responses=True)
r.rpush("queue", "task1", "task2")
with r.pipeline() as tx:
    tx.lpop("queue")
    tx.rpush("processing", "task1")
    print(tx.execute())
