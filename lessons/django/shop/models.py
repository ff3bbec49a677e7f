"""The shop's one model: an order, which a task ships once it is paid (the `on-commit` lesson)."""

from django.db import models


class Order(models.Model):
    item = models.CharField(max_length=100)
    shipped = models.BooleanField(default=False)
