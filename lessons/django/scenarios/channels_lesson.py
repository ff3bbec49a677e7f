"""The `channels` lesson's run: a browser in the lobby gets what the announce view sends to the
group, through Django Channels and channels_redis; then what people get wrong, happening: a
channel nobody reads (its server crashed) fills to its capacity and later messages are dropped
without an error, and a browser still connected stops getting messages once the group forgets it;
and the same lobby through RedisPubSubChannelLayer, where a group is a pub/sub channel.

    tutor step channels          (the lesson)
    tutor trace lessons/django/scenarios/channels_lesson.py

The project's settings are shortened so that each happens in seconds: a channel holds 1 message
(100 by default) and a group remembers its members 2 s (a day by default). The browsers are
asgiref's ApplicationCommunicator speaking the ASGI websocket protocol to the project's
application, as Channels' own WebsocketCommunicator does.
"""

import asyncio
import json
import os

os.environ["SHOP_CHANNEL_CAPACITY"] = "1"
os.environ["SHOP_GROUP_EXPIRY"] = "2"

from _project import announce, close_lobby, open_lobby, setup, until_subscribed

setup()

from channels_redis.core import RedisChannelLayer  # noqa: E402  (after Django's setup)
from django.conf import settings  # noqa: E402


async def crashed_server():
    """Another server process's layer: one of its browsers joins the lobby, and then the
    process is gone (its own layer is made here)."""
    other = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    gone = await other.new_channel()
    await other.group_add("lobby", gone)


async def main():
    # 1. A browser in the lobby gets an announcement.
    browser = await open_lobby()
    await announce("the sale starts at noon")
    frame = await browser.receive_output(timeout=5)
    assert json.loads(frame["text"]) == {"text": "the sale starts at noon"}
    await close_lobby(browser)

    # 2. Another server's browser joins, and that server crashes: its channel stays in the
    #    group and nobody reads it.
    await asyncio.create_task(crashed_server())
    for news in ("news 1", "news 2"):
        assert await announce(news) == {"sent": True}  # the view is told nothing of a drop

    # 3. A browser connected longer than the group remembers its members gets nothing.
    browser = await open_lobby()
    await asyncio.sleep(2.5)
    await announce("doors close")
    assert await browser.receive_nothing(1)  # connected, and nothing came
    await close_lobby(browser)

    # 4. The other layer of channels_redis, RedisPubSubChannelLayer: a group is a pub/sub
    #    channel. A browser in the lobby gets the announcement; once it has left, the next one
    #    is published to nobody, and nothing keeps it.
    browser = await open_lobby("/ws/lobby/pubsub/")
    await until_subscribed("asgi__group__lobby")
    await announce("flash sale", layer="pubsub")
    frame = await browser.receive_output(timeout=5)
    assert json.loads(frame["text"]) == {"text": "flash sale"}
    await close_lobby(browser)
    await announce("anyone there?", layer="pubsub")


asyncio.run(main())
