"""A small shop, as a Django project: the framework lessons run its views, tasks and consumer."""

from shopsite.celery import app as celery_app

__all__ = ("celery_app",)
