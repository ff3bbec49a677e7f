"""Django Channels: a message to a group, through both Redis channel layers (redis.asyncio)."""

import asyncio
import os

import django
from django.conf import settings

url = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
layers = {
    "default": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
settings.configure(
    CHANNEL_LAYERS={
        alias: {"BACKEND": backend, "CONFIG": {"hosts": [url]}} for alias, backend in layers.items()
    }
)
django.setup()

from channels.layers import get_channel_layer  # noqa: E402  (after settings)


async def chat(alias):
    layer = get_channel_layer(alias)
    me = await layer.new_channel()
    await layer.group_add("chat", me)
    await layer.group_send("chat", {"type": "chat.message", "text": f"hello via {alias}"})
    message = await layer.receive(me)
    print(alias, "received:", message["text"])
    await layer.group_discard("chat", me)


async def main():
    for alias in layers:
        await chat(alias)


asyncio.run(main())
