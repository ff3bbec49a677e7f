"""Where fakeredis and a real server differ, pinned, so that an upgrade of fakeredis shows.

When one of these fails after an upgrade, fakeredis changed: remove the workaround it names.
"""

from __future__ import annotations

import threading
import time

import fakeredis
import pytest
import redis

pytestmark = pytest.mark.real  # each pin runs the same commands on the tests' redis-server


def blmove_while_a_push_follows(client: redis.Redis) -> object:
    client.delete("src", "dst")
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(client.blmove("src", "dst", 3)))
    thread.start()
    time.sleep(0.3)  # let BLMOVE reach the server first (ordering, not a timing assertion)
    client.rpush("src", "x")
    thread.join(10)
    client.delete("src", "dst")
    return result[0]


def test_blmove_never_blocks_on_fakeredis_but_does_on_redis(redis_server):
    # Why the reliable-queue lesson uses LMOVE in its steps and only mentions BLMOVE.
    fake = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    assert blmove_while_a_push_follows(fake) is None
    real = redis.Redis.from_url(redis_server.url)
    assert blmove_while_a_push_follows(real) == b"x"
    real.close()


def pending_summary(client: redis.Redis) -> tuple[object, object]:
    client.set_response_callback("XPENDING", lambda reply, **options: reply)  # the raw reply
    client.delete("s")
    client.xadd("s", {"f": "v"}, id="1-1")
    client.xgroup_create("s", "g", id="0")
    client.execute_command("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    held = client.execute_command("XPENDING", "s", "g")[3]
    client.execute_command("XACK", "s", "g", "1-1")
    empty = client.execute_command("XPENDING", "s", "g")[3]
    client.delete("s")
    return held, empty


def test_xpending_summary_differs_and_the_fake_backend_corrects_it(redis_server):
    # Why run/fakeserver.as_redis_answers corrects it: the streams lesson shows XPENDING's summary.
    fake = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    assert pending_summary(fake) == ([[b"c", 1]], [])
    real = redis.Redis.from_url(redis_server.url)
    assert pending_summary(real) == ([[b"c", b"1"]], None)
    real.close()
