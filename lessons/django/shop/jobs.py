"""RQ jobs of the shop."""


def make_report(month):
    return f"sales report for {month}"


def slow_report(month):
    import os
    import time

    import redis
    from django.conf import settings

    # The work has started, in this process: RQ's work horse, which the worker forked.
    redis.Redis.from_url(settings.REDIS_URL).set("reporting", os.getpid())
    time.sleep(30)  # the work itself: long enough for the worker to be killed in it
    return f"sales report for {month}"


def broken_report(month):
    raise ValueError(f"no sales data for {month}")


def ship_parcel(order_id):
    from shop.models import Order

    order = Order.objects.get(pk=order_id)  # DoesNotExist while the view has not committed
    order.shipped = True
    order.save()
    return f"order {order_id} shipped"
