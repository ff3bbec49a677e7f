"""Redis itself refuses a command: LPUSH on a key that holds a string (WRONGTYPE)."""

import redis

r = redis.Redis()
r.set("queue", "not a list")
r.lpush("queue", "task1")
