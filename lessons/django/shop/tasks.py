"""Celery tasks of the shop."""

import functools
import logging
import time

import redis
from celery import shared_task
from celery.worker.request import Request
from django.conf import settings
from kombu.asynchronous import get_event_loop

from shop import reports


@shared_task
def send_welcome_email(email):
    return f"welcome email sent to {email}"


@shared_task
def resize_photo(name):
    redis.Redis.from_url(settings.REDIS_URL).set("resizing", name)  # the work has started
    print(f"resizing {name}")  # in the worker's log
    time.sleep(2)  # the work itself
    return f"{name} resized"


@shared_task
def send_reminder(email):
    sent = redis.Redis.from_url(settings.REDIS_URL).incr("reminders_sent")  # counts every run
    return f"reminder {sent} sent to {email}"


class AcceptedRequest(Request):
    """A task's request that says in the worker's log once the worker has acknowledged it (a
    scenario waits for that before it takes the worker down). With Celery's default early ack the
    ack is sent on the worker's event loop's next turn; the line comes one turn after it."""

    def on_accepted(self, pid, time_accepted):
        super().on_accepted(pid, time_accepted)
        if self.task.acks_late:
            return  # no ack yet: it comes after the task
        say = functools.partial(logging.getLogger(__name__).warning, "acked %s", self.task_name)
        loop = get_event_loop()
        if loop is None:  # no event loop: the ack has been sent
            say()
        else:
            loop.call_soon(loop.call_soon, say)


@shared_task(name="shop.tasks.build_report", Request=AcceptedRequest)
def build_report(month):
    return reports.build_report(month)


@shared_task(Request=AcceptedRequest)  # logs when its ack is sent
def ship_order(order_id):
    from shop.models import Order

    order = Order.objects.get(pk=order_id)  # DoesNotExist while the view has not committed
    order.shipped = True
    order.save()
    return f"order {order_id} shipped"
