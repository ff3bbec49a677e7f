"""A user profile in a Redis hash: set fields, read them back, count visits, remove a field."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("user:1")
print(r.hset("user:1", mapping={"name": "Ada", "lang": "Python", "visits": 0}))
print(r.hget("user:1", "name"))
print(r.hgetall("user:1"))
print(r.hincrby("user:1", "visits", 3))
print(r.hincrbyfloat("user:1", "score", 2.5))
print(r.hsetnx("user:1", "name", "Grace"), r.hsetnx("user:1", "city", "London"))
print(r.hmget("user:1", ["name", "lang", "missing"]))
print(r.hexists("user:1", "lang"), r.hexists("user:1", "age"))
print(r.hdel("user:1", "lang", "age"))
print(r.hlen("user:1"))
print(r.hkeys("user:1"))
print(r.hvals("user:1"))
print(r.hstrlen("user:1", "name"))
print(r.hset("user:1", "lang", "Rust"))
print(r.hgetall("user:1"))
print(r.hget("user:2", "name"), r.hgetall("user:2"))
