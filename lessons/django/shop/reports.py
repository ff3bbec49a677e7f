"""The job every framework runs in the `frameworks` lesson: the month's sales report."""

import time

from django.conf import settings


def build_report(month):
    print(f"building the report for {month}", flush=True)  # in the worker's log
    time.sleep(settings.REPORT_SECONDS)  # the work itself
    return f"report for {month}"
