"""Conversation tags: set by agents and by rules, read with every conversation summary."""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.store.tables import Conversation, ConversationTag, utcnow


class TagStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def add(self, conversation_id: int, tag: str, source: str, user_id: Optional[int] = None) -> bool:
        """True when the tag is new on the conversation."""
        try:
            async with self.sessions() as session, session.begin():
                if await session.get(Conversation, conversation_id) is None:
                    raise LookupError(conversation_id)
                session.add(ConversationTag(conversation_id=conversation_id, tag=tag, source=source,
                                            created_by=user_id, created_at=utcnow()))
            return True
        except IntegrityError:
            return False

    async def remove(self, conversation_id: int, tag: str) -> bool:
        async with self.sessions() as session, session.begin():
            result = await session.execute(delete(ConversationTag).where(
                ConversationTag.conversation_id == conversation_id, ConversationTag.tag == tag))
            return result.rowcount == 1

    async def of(self, conversation_ids: Iterable[int]) -> Dict[int, List[str]]:
        ids = list(conversation_ids)
        if not ids:
            return {}
        async with self.sessions() as session:
            rows = (await session.execute(select(ConversationTag.conversation_id, ConversationTag.tag).where(
                ConversationTag.conversation_id.in_(ids)).order_by(ConversationTag.tag))).all()
        found: Dict[int, List[str]] = {}
        for conversation_id, tag in rows:
            found.setdefault(conversation_id, []).append(tag)
        return found

    async def known(self, limit: int = 200) -> List[Tuple[str, int]]:
        """Tags in use, most used first (suggestions in the console)."""
        async with self.sessions() as session:
            rows = (await session.execute(select(ConversationTag.tag, func.count()).group_by(ConversationTag.tag)
                                          .order_by(func.count().desc(), ConversationTag.tag).limit(limit))).all()
        return [(tag, int(count)) for tag, count in rows]
