"""An order stream: add entries, read them, and share them out in a consumer group."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("orders", "shipments")
print(r.xadd("orders", {"item": "book", "qty": 1}, id="1-1"))
print(r.xadd("orders", {"item": "pen", "qty": 3}, id="1-2"))
print(r.xadd("orders", {"item": "mug", "qty": 2}, id="2-1"))
print(r.xlen("orders"))
print(r.xrange("orders", "-", "+", count=2))
print(r.xrevrange("orders", "+", "-", count=1))
print(r.xread({"orders": "1-1"}, count=10))
print(r.xgroup_create("orders", "packers", id="0"))
print(r.xreadgroup("packers", "alice", {"orders": ">"}, count=2))
print(r.xreadgroup("packers", "bob", {"orders": ">"}, count=5))
print(r.xack("orders", "packers", "1-1"))
print(r.xpending("orders", "packers"))
print(r.xclaim("orders", "packers", "bob", min_idle_time=0, message_ids=["1-2"]))
print(r.xautoclaim("orders", "packers", "alice", min_idle_time=0, start_id="0-0"))
for group in r.xinfo_groups("orders"):
    print(group["name"], group["consumers"], group["pending"], group["last-delivered-id"])
print(r.xtrim("orders", maxlen=2))
print(r.xlen("orders"), r.xrange("orders"))
print(r.xgroup_create("shipments", "couriers", id="$", mkstream=True))
print(r.xlen("shipments"))
