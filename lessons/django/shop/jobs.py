"""RQ jobs of the shop."""


def make_report(month):
    return f"sales report for {month}"


def slow_report(month):
    import time

    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).set("reporting", month)  # the work has started
    time.sleep(30)  # the work itself: long enough for the worker to be killed in it
    return f"sales report for {month}"
