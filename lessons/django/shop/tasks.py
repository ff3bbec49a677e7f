"""Celery tasks of the shop."""

from celery import shared_task


@shared_task
def send_welcome_email(email):
    return f"welcome email sent to {email}"
