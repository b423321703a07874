"""Listener (optional): give each new handoff to the least busy online agent."""

from __future__ import annotations

import logging

from agent_console.accounts import Accounts
from agent_console.presence import Presence
from bot.agent_actions import ActionError, AgentActions
from bot.events import DomainEvent

log = logging.getLogger(__name__)


class AutoAssigner:
    def __init__(self, presence: Presence, accounts: Accounts, actions: AgentActions, enabled: bool = True) -> None:
        self.presence = presence
        self.accounts = accounts
        self.actions = actions
        self.enabled = enabled   # admins switch it in the console (bot/operations_settings.py), live

    async def __call__(self, event: DomainEvent) -> None:
        if not self.enabled:
            return
        agent_id = await self.presence.least_busy_agent()
        if agent_id is None:
            return  # everyone is full or away: it waits in the queue
        agent = await self.accounts.by_id(agent_id)
        if agent is None:
            return
        try:
            await self.actions.assign(event.conversation_id, agent)
        except ActionError as exc:  # claimed by hand in the meantime
            log.info("auto-assign skipped conversation %s: %s", event.conversation_id, exc)
