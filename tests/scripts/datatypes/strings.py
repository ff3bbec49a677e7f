"""Strings in Redis: text you can append to, counters, a price, several keys at once."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("greeting", "counter", "price", "page:home", "page:about", "session")
print(r.set("greeting", "Hello"))
print(r.get("greeting"))
print(r.append("greeting", ", Redis"))
print(r.strlen("greeting"), r.getrange("greeting", 0, 4))
print(r.setrange("greeting", 7, "World"))
print(r.get("greeting"))
print(r.set("greeting", "ignored", nx=True))
print(r.incr("counter"), r.incrby("counter", 10), r.decr("counter"), r.decrby("counter", 4))
print(r.incrbyfloat("price", 10.5))
print(r.incrbyfloat("price", 0.25))
print(r.mset({"page:home": "Home", "page:about": "About"}))
print(r.mget("page:home", "page:about", "page:missing"))
print(r.msetnx({"page:home": "Again", "page:new": "New"}))
print(r.set("greeting", "Hi", get=True))
print(r.getdel("page:about"), r.get("page:about"))
print(r.set("session", "abc123", ex=60))
print(r.exists("greeting", "page:about", "session"))
print(r.type("counter"), r.type("page:missing"))
