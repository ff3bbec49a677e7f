"""The pub/sub seed in our own words: a listener thread prints what the main thread publishes."""

import threading
import time

import redis

r = redis.Redis(host="localhost", port=6379, db=0)


def listen():
    pubsub = r.pubsub()
    pubsub.subscribe("notifications")
    for message in pubsub.listen():
        if message["type"] == "message":
            print(f"Received: {message['data'].decode()}")


listener = threading.Thread(target=listen, daemon=True)
listener.start()

for i in range(3):
    text = f"Notification {i + 1}"
    r.publish("notifications", text)
    print(f"Sent: {text}")
    time.sleep(1)
