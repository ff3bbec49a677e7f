"""A producer thread and a consumer thread, each with its own client, sharing one queue."""

import threading

import redis


def produce():
    producer = redis.Redis(decode_responses=True)
    for n in (1, 2, 3):
        producer.lpush("jobs", f"job{n}")
    producer.lpush("jobs", "stop")


def consume():
    consumer = redis.Redis(decode_responses=True)
    while True:
        _key, job = consumer.brpop("jobs", timeout=2)
        if job == "stop":
            break
        print(f"done {job}")


worker = threading.Thread(target=consume, name="consumer")
worker.start()
producer_thread = threading.Thread(target=produce, name="producer")
producer_thread.start()
producer_thread.join()
worker.join()
