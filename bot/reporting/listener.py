"""Listener: what happened to conversations, kept as reporting facts (Chatwoot's reporting events).

Conversations are reused when a customer comes back, so their own row cannot tell their
history; these append-only facts can. The waiting room's estimates read `queue_wait`.

| fact | when | value |
|---|---|---|
| handed_off | the bot handed off, or an agent took over (reason agent_takeover) | the place in the queue |
| queue_wait | the first person took a conversation after a handoff | seconds waited (detail: place) |
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from bot.events import DomainEvent, EventName
from bot.store.reporting import ReportingStore

log = logging.getLogger(__name__)

REPORTED_EVENTS = (EventName.HANDED_OFF, EventName.ASSIGNED)


class ReportingListener:
    def __init__(self, reporting: ReportingStore) -> None:
        self.reporting = reporting

    async def __call__(self, event: DomainEvent) -> None:
        handler = getattr(self, f"_on_{event.name.value}", None)
        if handler is not None:
            await handler(event)

    async def _on_handed_off(self, event: DomainEvent) -> None:
        await self.reporting.record("handed_off", event.conversation_id, reason=event.data.get("reason"),
                                    channel=event.data.get("channel"),
                                    value=event.data.get("queue_position"))

    async def _on_assigned(self, event: DomainEvent) -> None:
        assignee = event.data.get("assignee_id")
        if event.data.get("takeover"):
            await self.reporting.record("handed_off", event.conversation_id, agent_id=assignee,
                                        reason="agent_takeover", channel=event.data.get("channel"))
            return
        latest = await self.reporting.latest(event.conversation_id, "handed_off", "queue_wait")
        if latest is None or latest.name != "handed_off" or latest.reason == "agent_takeover":
            return   # a transfer, or a second claim: the customer's wait ended earlier
        waited = (datetime.now(timezone.utc) - latest.created_at).total_seconds()
        await self.reporting.record("queue_wait", event.conversation_id, agent_id=assignee, channel=latest.channel,
                                    reason=latest.reason, value=round(max(0.0, waited), 3),
                                    detail={"position": int(latest.value or 1)})
