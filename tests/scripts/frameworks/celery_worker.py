"""A Django view's work, as Celery does it: .delay() a task, a worker process (-P solo) runs it."""

import subprocess
import sys
from pathlib import Path

from celery_tasks import resize

worker = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "celery_tasks",
        "worker",
        "-P",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "error",
    ],
    cwd=Path(__file__).parent,
)
result = resize.delay("photo.jpg")
print("result:", result.get(timeout=20))
worker.terminate()
worker.wait()
