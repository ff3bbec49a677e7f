"""The baseline of benchmarks/framework_startup.py: a plain Python program that serves fakeredis
on loopback, sets up the lessons' Django project and hands one piece of work to a framework, as
the lesson's first step does: `celery` (send_welcome_email.delay), `rq` (django_rq.enqueue) or
`channels` (async_to_sync(layer.group_send))."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent / "lessons" / "django"


def serve() -> object:
    from fakeredis import TcpFakeServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    return server


def main(framework: str) -> None:
    server = serve()
    os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    if framework == "celery":
        from shop.tasks import send_welcome_email

        send_welcome_email.delay("ana@example.com")
    elif framework == "rq":
        import django_rq
        from shop.jobs import make_report

        django_rq.enqueue(make_report, "2026-11")
    else:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        async_to_sync(layer.group_send)("lobby", {"type": "chat.message", "text": "hello"})
    server.shutdown()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "celery")
