"""A Django view's work, as RQ does it: enqueue a job, let a burst worker process run it."""

import subprocess
import sys
from pathlib import Path

import rq_tasks
from redis import Redis
from rq import Queue

redis = Redis()
queue = Queue("default", connection=redis)
job = queue.enqueue(rq_tasks.resize, "photo.jpg")
print("enqueued:", job.get_status().value)
worker = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--quiet", "default"]
subprocess.run(worker, check=True, cwd=Path(__file__).parent)
job.refresh()
print("after the worker:", job.get_status().value, job.return_value())
