"""Bits and bit fields: feature flags one bit each, and small counters packed in one string."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("flags", "counters", "either")
print(r.setbit("flags", 3, 1), r.setbit("flags", 7, 1), r.setbit("flags", 3, 1))
print(r.getbit("flags", 3), r.getbit("flags", 4), r.getbit("flags", 100))
print(r.bitcount("flags"), r.bitpos("flags", 1), r.strlen("flags"))
print(r.setbit("flags", 12, 1), r.bitcount("flags", 1, 1))

counters = r.bitfield("counters")
counters.set("u8", 0, 200).incrby("u8", 0, 100).get("u8", 0)
print(counters.execute())
saturating = r.bitfield("counters", default_overflow="SAT")
saturating.incrby("u8", 0, 250).incrby("i8", 8, -200)
print(saturating.execute())
failing = r.bitfield("counters")
failing.overflow("FAIL").incrby("u8", 0, 10).get("i8", 8).set("u4", "#3", 9)
print(failing.execute())
print(r.bitop("OR", "either", "flags", "counters"), r.bitcount("either"))
print(r.bitcount("counters"), r.strlen("counters"))
