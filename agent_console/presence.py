"""Who is online, away or offline, and how much work each agent has."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Set

from sqlalchemy import func, select

from agent_console.accounts import API_USER
from bot.domain import ConversationStatus
from bot.store.repository import ConversationStore
from bot.store.tables import Conversation, User
from bot.store.serialize import user_full


class Presence:
    def __init__(self, store: ConversationStore) -> None:
        self.store = store
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

    async def active_counts(self) -> Dict[int, int]:
        async with self.store.sessions() as session:
            rows = (await session.execute(select(Conversation.assignee_id, func.count()).where(
                Conversation.status == ConversationStatus.ASSIGNED.value,
                Conversation.assignee_id.isnot(None)).group_by(Conversation.assignee_id))).all()
        return {user_id: count for user_id, count in rows}

    async def roster(self) -> List[Dict]:
        async with self.store.sessions() as session:
            users = list((await session.execute(select(User).where(
                User.active.is_(True), User.username != API_USER).order_by(User.id))).scalars())
        counts = await self.active_counts()
        return [{**user_full(u), "presence": self.status_of(u.id), "active_conversations": counts.get(u.id, 0)}
                for u in users]

    async def least_busy_agent(self) -> Optional[int]:
        """The online agent with the most free capacity, for auto-assignment."""
        roster = await self.roster()
        candidates = [a for a in roster if a["presence"] == "online" and a["role"] in ("agent", "admin")
                      and a["active_conversations"] < a["capacity"]]
        if not candidates:
            return None
        return min(candidates, key=lambda a: (a["active_conversations"] / max(a["capacity"], 1), a["id"]))["id"]
