"""Channels: a browser joins the lobby over a websocket; the announce view sends to the group.

    tutor trace lessons/django/scenarios/channels_chat.py

The browser is asgiref's ApplicationCommunicator speaking the ASGI websocket protocol to the
project's application, as Channels' own WebsocketCommunicator does (without its daphne server).
"""

import asyncio
import json

from _project import setup

setup()

from asgiref.sync import sync_to_async  # noqa: E402  (after Django's setup)
from asgiref.testing import ApplicationCommunicator  # noqa: E402
from django.test import Client  # noqa: E402
from shopsite.asgi import application  # noqa: E402

LOBBY = {"type": "websocket", "path": "/ws/lobby/", "headers": [], "subprotocols": []}


async def main():
    browser = ApplicationCommunicator(application, LOBBY)
    await browser.send_input({"type": "websocket.connect"})
    print("connected:", (await browser.receive_output(timeout=5))["type"])
    await sync_to_async(Client().post)("/announce/", {"text": "the sale starts at noon"})
    frame = await browser.receive_output(timeout=5)
    print("the browser got:", json.loads(frame["text"]))
    await browser.send_input({"type": "websocket.disconnect", "code": 1000})
    await browser.wait(timeout=5)


asyncio.run(main())
