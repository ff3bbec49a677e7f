"""What the scenarios share: the project set up, its workers started as Django projects start
them, and the lobby's websocket as a browser opens it."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# The lobby's websocket, as a browser opens it (an ASGI scope: shopsite.asgi routes it).
LOBBY = {"type": "websocket", "path": "/ws/lobby/", "headers": [], "subprotocols": []}


def scratch_database() -> Path:
    """A folder of this run for the shop's SQLite database (SHOP_DATABASE), so that the workers'
    processes read what the view committed; remove it at the end. A folder left by a run that
    was killed (its process gone) is removed here."""
    import shutil
    import tempfile

    base = Path(tempfile.gettempdir())
    for old in base.glob("redisqueue-tutor-shop-*-*"):
        pid = old.name.split("-")[3]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"redisqueue-tutor-shop-{os.getpid()}-"))
    os.environ["SHOP_DATABASE"] = str(folder / "shop.sqlite3")
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def setup() -> Path:
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    import django

    django.setup()
    return PROJECT


def celery_worker(
    name: str = "worker", *, log: str = "", pool: str = "solo", **settings: str
) -> subprocess.Popen[bytes]:
    """`celery -A shopsite worker -P <pool>`, a process of its own, named `name@shop`; `settings`
    are the project's SHOP_ environment knobs for this worker alone (ACKS_LATE="1"). With `log`
    (a level: "info", "debug") its log is read with `wait_for_log`. `pool="prefork"` is Celery's default pool
    (here one child, `-c 1`), whose parent takes and acknowledges while the child runs."""
    level = log or "warning"
    celery = ["-m", "celery", "--quiet", "-A", "shopsite", "worker", "-P", pool, "-l", level]
    if pool == "prefork":
        celery += ["-c", "1"]
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@shop"]
    env = {**os.environ, **{f"SHOP_{k}": v for k, v in settings.items()}}
    stderr = subprocess.PIPE if log else None
    return subprocess.Popen(
        [sys.executable, *celery, *quiet],
        cwd=PROJECT,
        env=env,
        stderr=stderr,
        start_new_session=True,  # its own session: `crashed` takes down every process of it
    )


def wait_for_log(worker: subprocess.Popen[bytes], words: str) -> str:
    """The worker's next log line that holds `words` (its log is read as a person reads it: the
    scenario waits for the worker without asking Redis, so it adds no command of its own)."""
    log = worker.stderr or worker.stdout
    assert log is not None
    for raw in log:
        line = raw.decode("utf-8", "replace")
        if words in line:
            return line.strip()
    raise RuntimeError(f"the worker ended before it logged {words!r}")


def rqworker(*options: str) -> list[str]:
    """`python manage.py rqworker default ...`: django-rq's worker."""
    return [sys.executable, "manage.py", "rqworker", "default", *options]


def wait_for_logs(workers: list[subprocess.Popen[bytes]], words: str, count: int) -> None:
    """Until `count` log lines of these workers, together, hold `words` (whichever logs them)."""
    import threading

    seen = threading.Semaphore(0)

    def read(worker: subprocess.Popen[bytes]) -> None:
        assert worker.stderr is not None
        for raw in worker.stderr:  # its buffer first: what wait_for_log has read ahead
            if words in raw.decode("utf-8", "replace"):
                seen.release()

    for worker in workers:
        threading.Thread(target=read, args=(worker,), daemon=True).start()
    for _ in range(count):
        if not seen.acquire(timeout=60):
            raise RuntimeError(f"the workers did not log {words!r} {count} times")


def started(command: list[str], **settings: str) -> subprocess.Popen[bytes]:
    """A worker that runs until it is stopped, its output (what its jobs print) read with
    `wait_for_log`; `settings` as for `celery_worker`."""
    env = {**os.environ, **{f"SHOP_{k}": v for k, v in settings.items()}}
    out = subprocess.PIPE
    return subprocess.Popen(
        command,
        cwd=PROJECT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session: `crashed` takes down every process of it
    )


def crashed(worker: subprocess.Popen[bytes]) -> None:
    """The machine under the worker goes down: SIGKILL to every process of it at once, the worker
    first (so that none can clean up after another): Celery's pool children, and RQ's work horse,
    which leaves the worker's process group (setpgrp) but not its session."""
    for pid in [worker.pid, *sorted(_session(worker.pid) - {worker.pid})]:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(pid, signal.SIGKILL)
    worker.wait()


def _session(sid: int) -> set[int]:
    """The processes of session `sid`, from /proc (Linux); elsewhere the session's leader alone."""
    found = {sid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[3]) == sid:  # after the name: state, parent, group, session
            found.add(int(stat.parent.name))
    return found


def rq_burst(*options: str) -> None:
    """An RQ worker that runs what is queued, then ends (`--burst`)."""
    command = rqworker("--burst", *options)
    subprocess.run(command, check=True, cwd=PROJECT, stdout=subprocess.DEVNULL)


async def announce(text: str, layer: str = "default") -> dict[str, object]:
    """POST /announce/ as a browser does (to the channel layer `layer` of the settings); the
    view's JSON reply."""
    from asgiref.sync import sync_to_async
    from django.test import Client

    response = await sync_to_async(Client().post)("/announce/", {"text": text, "layer": layer})
    return dict(response.json())


async def open_lobby(path: str = "/ws/lobby/"):
    """A browser's websocket to the lobby, accepted (so in the group): asgiref's
    ApplicationCommunicator speaking ASGI to the project's application, as Channels' own
    WebsocketCommunicator does."""
    from asgiref.testing import ApplicationCommunicator
    from shopsite.asgi import application

    browser = ApplicationCommunicator(application, {**LOBBY, "path": path})
    await browser.send_input({"type": "websocket.connect"})
    await browser.receive_output(timeout=5)
    return browser


async def until_subscribed(channel: str) -> None:
    """Until Redis counts a subscriber of `channel`: a consumer's SUBSCRIBE is sent, not yet
    confirmed, when its websocket is accepted, and a PUBLISH that overtook it would reach nobody.
    (PUBSUB NUMSUB, from this coroutine of its own: quiet in the lesson.)"""
    import asyncio

    import redis.asyncio
    from django.conf import settings

    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    while not (await client.pubsub_numsub(channel))[0][1]:
        await asyncio.sleep(0.05)
    await client.aclose()


async def close_lobby(browser):
    """The browser closes its websocket (its consumer leaves the group)."""
    await browser.send_input({"type": "websocket.disconnect", "code": 1000})
    await browser.wait(timeout=5)
