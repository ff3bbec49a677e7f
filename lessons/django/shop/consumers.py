"""The lobby: every connected browser is in one group and gets what the shop announces."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class LobbyConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard("lobby", self.channel_name)

    async def chat_message(self, event):
        await self.send_json({"text": event["text"]})


class PubSubLobbyConsumer(LobbyConsumer):
    """The same lobby through RedisPubSubChannelLayer (the layer `pubsub` of the settings)."""

    channel_layer_alias = "pubsub"
