"""Settings of the lessons' project. One Redis for Celery, RQ and Channels: `tutor` points every
client at the lesson's server, whatever URL is named here."""

import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

SECRET_KEY = "for the lessons only, never deployed"
DEBUG = True
ALLOWED_HOSTS = ["testserver", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django_rq", "channels", "shop"]
# The shop's orders (the `on-commit` lesson): SQLite, in a file its scenario names, so that the
# workers' processes read what the view committed. The other scenarios use no database.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DATABASE", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "shopsite.urls"
ASGI_APPLICATION = "shopsite.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"  # times in messages (a countdown's eta) as the server's clock says them

# Celery: the broker and the result backend on Redis.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A scenario shortens Celery's clocks so that a step waits seconds, not an hour, and may ask for
# late acks; without these the defaults are Celery's own (a visibility timeout of one hour).
CELERY_TASK_ACKS_LATE = os.environ.get("SHOP_ACKS_LATE") == "1"
if os.environ.get("SHOP_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": float(os.environ["SHOP_VISIBILITY_TIMEOUT"]),
        # How often a worker looks for messages to restore (10 s by default, scanning every 10th
        # look; here every look scans); a scenario may
        # make it rare, so that each worker looks only as it starts.
        "unacked_restore_interval": float(os.environ.get("SHOP_RESTORE_INTERVAL", "1")),
        "unacked_restore_throttle": 1,
    }

# How long the month's report takes (the `frameworks` lesson): a scenario makes one worker's work
# long enough for it to be killed mid-task.
REPORT_SECONDS = float(os.environ.get("SHOP_REPORT_SECONDS", "0"))

# RQ through django-rq.
RQ_QUEUES = {"default": {"URL": REDIS_URL}}

# Channels: groups and messages through Redis. A scenario may shorten how long a group remembers
# its members (a day by default) and how many messages a channel holds (100).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "group_expiry": int(os.environ.get("SHOP_GROUP_EXPIRY", "86400")),
            "capacity": int(os.environ.get("SHOP_CHANNEL_CAPACITY", "100")),
        },
    },
    # The other layer channels_redis offers: groups and messages as pub/sub channels.
    "pubsub": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    },
}
