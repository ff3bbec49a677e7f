"""A listener that never stops: only --timeout ends it."""

import redis

r = redis.Redis(decode_responses=True)
r.rpush("queue", "ready")
pubsub = r.pubsub()
pubsub.subscribe("news")
print("listening")
for message in pubsub.listen():
    print(message)
