"""Listener: messages people write reach the customer on the customer's own channel."""

from __future__ import annotations

import logging

from bot.channels.base import ChannelRegistry
from bot.domain import SenderKind
from bot.events import DomainEvent
from bot.store.repository import ConversationStore

log = logging.getLogger(__name__)

CUSTOMER_VISIBLE = {SenderKind.AGENT.value, SenderKind.SYSTEM.value, SenderKind.BOT.value}


class OutboundDelivery:
    def __init__(self, store: ConversationStore, channels: ChannelRegistry) -> None:
        self.store = store
        self.channels = channels

    async def __call__(self, event: DomainEvent) -> None:
        # Messages produced inside a customer's own turn go back with that turn;
        # only those marked for delivery (agent replies, notices) are pushed here.
        if not event.data.get("deliver"):
            return
        visible = [m for m in event.messages if m["sender"] in CUSTOMER_VISIBLE]
        if not visible:
            return
        identity = await self.store.identity_of(event.conversation_id)
        channel = self.channels.get(identity.channel)
        if channel is None:
            log.error("no outbound channel %r for conversation %s", identity.channel, event.conversation_id)
            return
        for message in visible:
            await channel.deliver(identity.external_id, message)
