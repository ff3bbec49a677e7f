"""A to-do list in a Redis list: push at both ends, read ranges, insert, move, trim and pop."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("todo", "done")
print(r.rpush("todo", "write tests", "fix bug", "review PR"))
print(r.lpush("todo", "coffee"))
print(r.lrange("todo", 0, -1))
print(r.llen("todo"), r.lindex("todo", 1), r.lindex("todo", -1))
print(r.linsert("todo", "AFTER", "fix bug", "deploy"))
print(r.lset("todo", 0, "espresso"))
print(r.lpos("todo", "deploy"))
print(r.lmove("todo", "done", "LEFT", "RIGHT"))
print(r.rpoplpush("todo", "done"))
print(r.lrem("todo", 1, "fix bug"))
print(r.lrange("todo", 0, -1), r.lrange("done", 0, -1))
print(r.rpush("todo", "lunch", "email", "standup"))
print(r.ltrim("todo", 0, 2))
print(r.lpop("todo", 2))
print(r.lmpop(2, "todo", "done", direction="RIGHT", count=2))
print(r.blpop(["done"], timeout=1))
print(r.rpushx("nothing-here", "x"), r.exists("todo", "done", "nothing-here"))
