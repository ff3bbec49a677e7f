"""The baseline of benchmarks/framework_startup.py: a plain Python program that serves fakeredis
on loopback, imports Django and Celery (the lessons' project) and sends one .delay()."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent / "lessons" / "django"


def main() -> None:
    from fakeredis import TcpFakeServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from shop.tasks import send_welcome_email

    send_welcome_email.delay("ana@example.com")
    print("sent")
    server.shutdown()


if __name__ == "__main__":
    main()
