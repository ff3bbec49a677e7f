"""Channels: a browser still connected stops getting the lobby's messages once the group forgets it.

    tutor trace lessons/django/scenarios/channels_group_expiry.py

A group is a sorted set of channel names scored by the time each joined, and group_add sets it
to expire group_expiry later (2 s here, a day by default); group_send also drops the members
older than that, open websocket or not. So a page left open longer than that silently stops
receiving.
"""

import asyncio
import json
import os

os.environ["SHOP_GROUP_EXPIRY"] = "2"

from _project import announce, close_lobby, open_lobby, setup

setup()


async def main():
    browser = await open_lobby()  # accepted: in the group
    await announce("doors open")
    print("at once:", json.loads((await browser.receive_output(timeout=5))["text"]))
    await asyncio.sleep(2.5)  # longer than the group remembers its members
    await announce("the sale starts at noon")
    if await browser.receive_nothing(timeout=1):
        print("2.5 s later: nothing, though the browser is still connected")
    else:
        print("2.5 s later:", json.loads((await browser.receive_output())["text"]))
    await close_lobby(browser)


asyncio.run(main())
