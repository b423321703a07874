"""Listener: a waiting customer's live status goes to their channel, if it can show one (ephemeral).

The waiting room (bot/waiting) decides what the status is and when it changed; this relay only
finds the customer's channel, like the typing relay does. Nothing is stored: a widget that
reconnects asks for the current status with its session.
"""

from __future__ import annotations

from bot.channels.base import ChannelRegistry
from bot.channels.delivery import IdentityCache
from bot.events import DomainEvent
from bot.store.conversations import NotFound


class WaitStatusRelay:
    def __init__(self, identities: IdentityCache, channels: ChannelRegistry) -> None:
        self.identities = identities
        self.channels = channels

    async def __call__(self, event: DomainEvent) -> None:
        try:
            identity = await self.identities.of(event.conversation_id)
        except NotFound:
            return
        channel = self.channels.get(identity.channel)
        if channel is not None and channel.shows_wait_status:
            await channel.show_wait_status(identity.external_id, dict(event.data))
