"""A game leaderboard in a Redis sorted set: scores, ranks, ranges, a weighted union."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("scores", "bonus", "total")
print(r.zadd("scores", {"ada": 120, "bob": 95, "cy": 150}))
print(r.zadd("scores", {"dee": 95, "ada": 125}))
print(r.zscore("scores", "ada"))
print(r.zincrby("scores", 15.5, "bob"))
print(r.zrange("scores", 0, -1, withscores=True))
print(r.zrevrange("scores", 0, 1))
print(r.zrank("scores", "ada"), r.zrevrank("scores", "ada"))
print(r.zrangebyscore("scores", 100, "+inf"))
print(r.zcount("scores", "(95", 150))
print(r.zadd("scores", {"ada": 130, "eve": 1}, xx=True, ch=True))
print(r.zmscore("scores", ["ada", "eve"]))
print(r.zadd("bonus", {"ada": 10, "dee": 5}))
print(r.zunionstore("total", {"scores": 1, "bonus": 2}))
print(r.zrange("total", 0, -1, withscores=True))
print(r.zrange("total", "(100", 200, byscore=True))
print(r.zpopmin("scores"))
print(r.zrem("scores", "cy", "zed"))
print(r.zcard("scores"), r.zrange("scores", 0, -1))
