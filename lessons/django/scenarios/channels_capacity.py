"""Channels: a group_send to a member that does not read drops messages past its capacity, and
nobody is told.

    tutor trace lessons/django/scenarios/channels_capacity.py

A server that crashed never ran group_discard: its browser's channel stays in the lobby. Each
announcement is added to the sorted set its server process reads (asgispecific.<prefix>!, one for
all the channels of that process) until it holds `capacity` messages (3 here, 100 by default);
after that each group_send skips it, logs a line at INFO level and raises nothing.
"""

import asyncio
import os

os.environ["SHOP_CHANNEL_CAPACITY"] = "3"

from _project import announce, setup

setup()

import redis  # noqa: E402  (after Django's setup)
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402


async def main():
    layer = get_channel_layer()
    gone = await layer.new_channel()  # a browser whose server crashed: nobody reads it again
    await layer.group_add("lobby", gone)
    for number in range(1, 6):
        print(f"announcement {number}:", await announce(f"news {number}"))
    key = layer.prefix + layer.non_local_name(gone)  # where its messages wait
    held = redis.Redis.from_url(settings.REDIS_URL).zcard(key)
    print("its channel holds", held, "of 5 messages; the view was told nothing")


asyncio.run(main())
