"""HTTP through Django, the lobby's websocket through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

http = get_asgi_application()  # sets Django up before the consumer is imported

from shop.consumers import LobbyConsumer, PubSubLobbyConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": URLRouter(
            [
                path("ws/lobby/", LobbyConsumer.as_asgi()),
                path("ws/lobby/pubsub/", PubSubLobbyConsumer.as_asgi()),
            ]
        ),
    }
)
