"""Counting unique visitors with HyperLogLog: add, count, merge two days into a week."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("visitors:mon", "visitors:tue", "visitors:week")
print(r.pfadd("visitors:mon", "ada", "bob", "cy"))
print(r.pfadd("visitors:mon", "ada"))
print(r.pfcount("visitors:mon"))
print(r.pfadd("visitors:tue", "bob", "dee", "eve", "fay"))
print(r.pfcount("visitors:tue"))
print(r.pfcount("visitors:mon", "visitors:tue"))
print(r.pfmerge("visitors:week", "visitors:mon", "visitors:tue"))
print(r.pfcount("visitors:week"))
print(r.pfadd("visitors:week", "ada", "gus"))
print(r.pfcount("visitors:week"))
print(r.exists("visitors:week", "visitors:sun"))
