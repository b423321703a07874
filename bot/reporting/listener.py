"""Listener: what happened to conversations, kept as reporting facts (Chatwoot's reporting events).

Conversations are reused when a customer comes back, so their own row cannot tell their
history; these append-only facts can. The waiting room's estimates read `queue_wait`.

| fact | when | value |
|---|---|---|
| opened | a customer started a conversation, or came back to a resolved one | — |
| handed_off | the bot handed off, or an agent took over (reason agent_takeover) | the place in the queue |
| queue_wait | the first person took a conversation after a handoff | seconds waited (detail: place) |
| first_reply | a person's first reply after a handoff | seconds since the handoff |
| resolved | a conversation was resolved | seconds since it was opened (detail: handed_off) |
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from bot.events import DomainEvent, EventName
from bot.store.reporting import ReportingStore

log = logging.getLogger(__name__)

REPORTED_EVENTS = (EventName.CONVERSATION_OPENED, EventName.CONVERSATION_REOPENED, EventName.HANDED_OFF,
                   EventName.ASSIGNED, EventName.AGENT_REPLIED, EventName.RESOLVED)


class ReportingListener:
    def __init__(self, reporting: ReportingStore) -> None:
        self.reporting = reporting

    async def __call__(self, event: DomainEvent) -> None:
        handler = getattr(self, f"_on_{event.name.value}", None)
        if handler is not None:
            await handler(event)

    async def _on_opened(self, event: DomainEvent) -> None:
        await self.reporting.record("opened", event.conversation_id, channel=event.data.get("channel"))

    _on_reopened = _on_opened

    async def _on_agent_replied(self, event: DomainEvent) -> None:
        latest = await self.reporting.latest(event.conversation_id, "handed_off", "first_reply", "opened")
        if latest is None or latest.name != "handed_off":
            return   # not the first reply since the handoff (or a reply without one)
        await self.reporting.record("first_reply", event.conversation_id, agent_id=event.actor_id,
                                    channel=latest.channel, reason=latest.reason, value=self._since(latest))

    async def _on_resolved(self, event: DomainEvent) -> None:
        opened = await self.reporting.latest(event.conversation_id, "opened")
        handed = await self.reporting.latest(event.conversation_id, "handed_off")
        with_people = handed is not None and (opened is None or handed.created_at >= opened.created_at)
        await self.reporting.record("resolved", event.conversation_id,
                                    agent_id=event.data.get("assignee_id") or event.actor_id,
                                    channel=event.data.get("channel"),
                                    value=self._since(opened) if opened is not None else None,
                                    detail={"handed_off": with_people})

    @staticmethod
    def _since(fact) -> float:
        return round(max(0.0, (datetime.now(timezone.utc) - fact.created_at).total_seconds()), 3)

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
