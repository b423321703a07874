"""Who is online, away or offline, and how much work each agent has."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Dict, List, Optional, Set

from agent_console.accounts import Accounts
from bot.domain import AGENT_ROLES
from bot.store.conversations import ConversationStore


class Presence:
    def __init__(self, accounts: Accounts, conversations: ConversationStore) -> None:
        self.accounts = accounts
        self.conversations = conversations
        self._sids: Dict[int, Set[str]] = defaultdict(set)
        self._status: Dict[int, str] = {}

    def connected(self, user_id: int, sid: str) -> None:
        self._sids[user_id].add(sid)
        self._status.setdefault(user_id, "online")

    def disconnected(self, user_id: int, sid: str) -> None:
        self._sids[user_id].discard(sid)
        if not self._sids[user_id]:
            self._status.pop(user_id, None)

    def set_status(self, user_id: int, status: str) -> None:
        if self._sids.get(user_id):
            self._status[user_id] = status

    def status_of(self, user_id: int) -> str:
        return self._status.get(user_id, "offline") if self._sids.get(user_id) else "offline"

    async def roster(self) -> List[Dict[str, Any]]:
        users = await self.accounts.active_people()
        counts = await self.conversations.assigned_counts()
        return [{**u.as_json(), "presence": self.status_of(u.id), "active_conversations": counts.get(u.id, 0)}
                for u in users]

    async def agents_online(self) -> int:
        """People who take conversations and are online now (the waiting room tells customers)."""
        if not any(status == "online" for status in self._status.values()):
            return 0   # nobody connected: no database round trip
        roles = {r.value for r in AGENT_ROLES}
        return sum(1 for a in await self.roster() if a["presence"] == "online" and a["role"] in roles)

    async def least_busy_agent(self) -> Optional[int]:
        """The online agent with the most free capacity, for auto-assignment."""
        roster = await self.roster()
        roles = {r.value for r in AGENT_ROLES}
        candidates = [a for a in roster if a["presence"] == "online" and a["role"] in roles
                      and a["active_conversations"] < a["capacity"]]
        if not candidates:
            return None
        return min(candidates, key=lambda a: (a["active_conversations"] / max(a["capacity"], 1), a["id"]))["id"]
