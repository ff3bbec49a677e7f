"""Who knows what, in Redis sets: add members, test membership, intersect, union, move."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("knows:python", "knows:redis", "knows:both")
print(r.sadd("knows:python", "ada", "bob", "cy"))
print(r.sadd("knows:redis", "bob", "cy", "dee"))
print(r.sadd("knows:python", "ada"))
print(r.scard("knows:python"))
print(r.sismember("knows:python", "bob"), r.sismember("knows:python", "dee"))
print(r.smismember("knows:redis", ["ada", "bob", "dee"]))
print(sorted(r.smembers("knows:python")))
print(sorted(r.sinter("knows:python", "knows:redis")))
print(sorted(r.sunion("knows:python", "knows:redis")))
print(sorted(r.sdiff("knows:python", "knows:redis")))
print(r.sintercard(2, ["knows:python", "knows:redis"]))
print(r.sinterstore("knows:both", ["knows:python", "knows:redis"]))
print(r.smove("knows:redis", "knows:python", "dee"))
print(r.srem("knows:python", "ada", "zed"))
print(sorted(r.smembers("knows:python")), r.scard("knows:redis"))
