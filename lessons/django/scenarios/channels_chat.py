"""Channels: a browser joins the lobby over a websocket; the announce view sends to the group.

    tutor trace lessons/django/scenarios/channels_chat.py

The browser is asgiref's ApplicationCommunicator speaking the ASGI websocket protocol to the
project's application, as Channels' own WebsocketCommunicator does (without its daphne server).
"""

import asyncio
import json

from _project import LOBBY, announce, setup

setup()

from asgiref.testing import ApplicationCommunicator  # noqa: E402  (after Django's setup)
from shopsite.asgi import application  # noqa: E402


async def main():
    browser = ApplicationCommunicator(application, LOBBY)
    await browser.send_input({"type": "websocket.connect"})
    print("connected:", (await browser.receive_output(timeout=5))["type"])
    await announce("the sale starts at noon")
    frame = await browser.receive_output(timeout=5)
    print("the browser got:", json.loads(frame["text"]))
    await browser.send_input({"type": "websocket.disconnect", "code": 1000})
    await browser.wait(timeout=5)


asyncio.run(main())
