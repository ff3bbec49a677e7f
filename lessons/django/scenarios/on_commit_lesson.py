"""The `on-commit` lesson's run: an order view sends its shipping task inside its transaction.
With Celery's .delay() the message is on the list at once, and the worker looks for the order
before the view has committed: DoesNotExist. With delay_on_commit the message goes out as the
transaction commits, and with django_rq.enqueue() django-rq 4 holds the job until then too.

    tutor step on-commit         (the lesson)
    tutor trace lessons/django/scenarios/on_commit_lesson.py

The orders are in SQLite, in a file of this run, so that the workers' processes read what the
view committed. The payment provider the view calls inside its transaction is played by the
scenario: it answers once the worker has run the task, as a slow provider would.
"""

import shutil

from _project import celery_worker, rq_burst, scratch_database, setup, wait_for_log

folder = scratch_database()
setup()

from celery.result import AsyncResult  # noqa: E402  (after Django's setup)
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from shop import payments  # noqa: E402
from shop.models import Order  # noqa: E402

try:
    call_command("migrate", verbosity=0)  # the orders' table (SQLite: no Redis command)
    worker = celery_worker("orders", log="info")
    wait_for_log(worker, "ready")

    # 1. .delay() inside the transaction: the provider answers once the worker has failed.
    payments.charge = lambda order: wait_for_log(worker, "raised unexpected")
    task = Client().post("/order/", {"item": "photo book", "send": "delay"}).json()["task"]
    wait_for_log(worker, "acked shop.tasks.ship_order")  # its ack sent, after the task

    # 2. delay_on_commit: the message goes out as the transaction commits.
    payments.charge = lambda order: True
    Client().post("/order/", {"item": "mug", "send": "delay_on_commit"})
    wait_for_log(worker, "acked shop.tasks.ship_order")  # run, and acknowledged
    worker.terminate()
    worker.wait()

    # 3. django_rq.enqueue() inside the transaction: django-rq 4 holds it until the commit.
    Client().post("/order/", {"item": "poster", "send": "rq"})
    rq_burst()
    # 4. Later: order 1's task failed for good, and nothing will ship it.
    print("task 1:", AsyncResult(task).state)
    for order in Order.objects.order_by("pk"):  # what the database says in the end
        print(f"order {order.pk}: {'shipped' if order.shipped else 'NOT shipped'}")
finally:
    shutil.rmtree(folder, ignore_errors=True)
