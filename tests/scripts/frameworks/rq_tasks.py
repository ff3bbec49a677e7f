"""The job an RQ worker runs (imported by rq_burst.py and by the worker process)."""


def resize(name):
    return f"{name} resized"
