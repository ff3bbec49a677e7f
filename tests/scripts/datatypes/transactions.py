"""Pipelines and transactions: batch commands, run them atomically, retry when a key changed."""

import redis

r = redis.Redis(decode_responses=True)
r.delete("stock", "sold", "balance", "log")
print(r.set("stock", 10))

# A pipeline without a transaction: three commands in one round trip.
pipe = r.pipeline(transaction=False)
pipe.set("sold", 0)
pipe.rpush("log", "opened")
pipe.get("stock")
print(pipe.execute())

# MULTI/EXEC: all or nothing.
with r.pipeline() as tx:
    tx.decrby("stock", 3)
    tx.incrby("sold", 3)
    tx.rpush("log", "sold 3")
    print(tx.execute())

# WATCH: pay 30 from the balance, retrying if someone else changed it meanwhile.
print(r.set("balance", 100))
attempts = 0
with r.pipeline() as pipe:
    while True:
        try:
            pipe.watch("balance")
            balance = int(pipe.get("balance"))
            attempts += 1
            if attempts == 1:
                r.incrby("balance", 50)  # another payment arrives before ours is done
            pipe.multi()
            pipe.set("balance", balance - 30)
            pipe.rpush("log", "paid 30")
            print(pipe.execute())
            break
        except redis.WatchError:
            print("balance changed, retrying")
print(attempts, r.get("balance"), r.lrange("log", 0, -1))
