"""The bare list's worker, as a project writes one by hand: `python -m shop.listworker`, a loop
of BRPOP on the list `reports` that runs each job it takes. No copy is kept while a job runs,
and no ack follows it. `--burst` ends it once the queue is empty."""

import os
import sys

import django


def main(burst: bool) -> None:
    from shop import listqueue
    from shop.reports import build_report

    client = listqueue.connect()
    while True:
        job = listqueue.take(client, timeout=1)
        if job is not None:
            build_report(job["month"])
        elif burst:
            return


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    django.setup()
    main(burst="--burst" in sys.argv[1:])
