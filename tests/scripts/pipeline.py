"""Three pushes sent together in a pipeline, then one pop."""

import redis

r = redis.Redis(decode_responses=True)
pipe = r.pipeline(transaction=False)
pipe.rpush("queue", "a")
pipe.rpush("queue", "b")
pipe.llen("queue")
print(pipe.execute())
print(r.lpop("queue"))
