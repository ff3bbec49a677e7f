"""The shop's views: each hands work to Redis through a framework, as Django projects do."""

import django_rq
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from shop import jobs, listqueue, payments, tasks
from shop.jobs import make_report
from shop.reports import build_report
from shop.tasks import send_welcome_email


@require_POST
def signup(request):
    result = send_welcome_email.delay(request.POST["email"])
    return JsonResponse({"task": result.id})


@require_POST
def report(request):
    job = django_rq.enqueue(make_report, request.POST["month"])
    return JsonResponse({"job": job.id})


@require_POST
def announce(request):
    layer = get_channel_layer(request.POST.get("layer", "default"))  # a layer of the settings
    message = {"type": "chat.message", "text": request.POST["text"]}
    async_to_sync(layer.group_send)("lobby", message)
    return JsonResponse({"sent": True})


# The month's report, the same job three ways (the `frameworks` lesson).
@require_POST
def report_by_celery(request):
    result = tasks.build_report.delay(request.POST["month"])
    return JsonResponse({"task": result.id})


@require_POST
def report_by_rq(request):
    job = django_rq.enqueue(build_report, request.POST["month"])
    return JsonResponse({"job": job.id})


@require_POST
def report_by_list(request):
    listqueue.enqueue(request.POST["month"])
    return JsonResponse({"queued": True})


# An order, in one transaction: saved, its shipping sent, the card charged, then committed as the
# view returns (the `on-commit` lesson). How the shipping is sent is the lesson's point.
@require_POST
@transaction.atomic
def order(request):
    from shop.models import Order

    order = Order.objects.create(item=request.POST["item"])
    send, task = request.POST["send"], None
    if send == "delay":
        task = tasks.ship_order.delay(order.id).id  # now: a worker may look before the commit
    elif send == "delay_on_commit":
        tasks.ship_order.delay_on_commit(order.id)  # Celery 5.4+: once the transaction commits
    else:
        django_rq.enqueue(jobs.ship_parcel, order.id)  # django-rq 4: held until the commit too
    payments.charge(order)
    return JsonResponse({"order": order.id, "task": task})
