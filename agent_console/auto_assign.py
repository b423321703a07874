"""Listener: optionally give each new handoff to the least busy online agent."""

from __future__ import annotations

import logging

from bot.events import DomainEvent
from bot.takeover import ActionError

log = logging.getLogger(__name__)


class AutoAssigner:
    def __init__(self, services) -> None:
        self.services = services

    async def __call__(self, event: DomainEvent) -> None:
        agent_id = await self.services.presence.least_busy_agent()
        if agent_id is None:
            return  # everyone is full or away: it waits in the queue
        user = await self.services.accounts.by_id(agent_id)
        try:
            await self.services.takeover.assign(event.conversation_id, user)
        except ActionError as exc:  # claimed by hand in the meantime
            log.info("auto-assign skipped conversation %s: %s", event.conversation_id, exc)
