"""The shop's views: each hands work to Redis through a framework, as Django projects do."""

import django_rq
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from shop import listqueue, tasks
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
