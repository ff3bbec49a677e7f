"""Celery tasks of the shop."""

import time

import redis
from celery import shared_task
from django.conf import settings


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
