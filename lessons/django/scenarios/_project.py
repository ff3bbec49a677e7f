"""What the scenarios share: the project set up, its workers started as Django projects start
them, and the lobby's websocket as a browser opens it."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# The lobby's websocket, as a browser opens it (an ASGI scope: shopsite.asgi routes it).
LOBBY = {"type": "websocket", "path": "/ws/lobby/", "headers": [], "subprotocols": []}


def setup() -> Path:
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    import django

    django.setup()
    return PROJECT


def celery_worker(name: str = "worker") -> subprocess.Popen[bytes]:
    """`celery -A shopsite worker -P solo`, a process of its own, named `name@shop`."""
    celery = ["-m", "celery", "--quiet", "-A", "shopsite", "worker", "-P", "solo", "-l", "warning"]
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@shop"]
    return subprocess.Popen([sys.executable, *celery, *quiet], cwd=PROJECT)


def rqworker(*options: str) -> list[str]:
    """`python manage.py rqworker default ...`: django-rq's worker."""
    return [sys.executable, "manage.py", "rqworker", "default", *options]


def rq_burst() -> None:
    """An RQ worker that runs what is queued, then ends (`--burst`)."""
    subprocess.run(rqworker("--burst"), check=True, cwd=PROJECT, stdout=subprocess.DEVNULL)


async def announce(text: str) -> dict[str, object]:
    """POST /announce/ as a browser does; the view's JSON reply."""
    from asgiref.sync import sync_to_async
    from django.test import Client

    response = await sync_to_async(Client().post)("/announce/", {"text": text})
    return dict(response.json())
