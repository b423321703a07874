"""Finding conversations: by who (name, e-mail), what was said, an order number; filtered and paged.

The text match is a case-insensitive substring (LIKE), on SQLite and PostgreSQL alike: fine for
the thousands of conversations a shop's team searches; a full-text index is the step after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.orm import aliased

from bot.store.conversations import ConversationStore
from bot.store.tables import Conversation, ConversationTag, Customer, Message, Order
from bot.views import ConversationView

MAX_LIMIT = 100


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class SearchFilter:
    text: str = ""                          # name, e-mail, message text or order number
    statuses: Sequence[str] = ()
    channels: Sequence[str] = ()
    reasons: Sequence[str] = ()
    assignee_id: Optional[int] = None
    unassigned: bool = False
    tags: Sequence[str] = ()
    active_from: Optional[datetime] = None  # last activity on or after
    active_before: Optional[datetime] = None
    limit: int = 50
    offset: int = 0


class ConversationSearch:
    def __init__(self, sessions, conversations: ConversationStore) -> None:
        self.sessions = sessions
        self.conversations = conversations

    @staticmethod
    def _has_order(number: str):
        """The customer has this order: theirs directly, or the shop's customer with the same verified id."""
        owner = aliased(Customer)
        return or_(
            exists().where(Order.customer_id == Conversation.customer_id, Order.number == number),
            exists().where(Order.number == number, Order.customer_id == owner.id,
                           owner.shop_customer_id.isnot(None), owner.shop_customer_id == Customer.shop_customer_id))

    async def search(self, f: SearchFilter) -> List[ConversationView]:
        query = select(Conversation.id).join(Customer, Customer.id == Conversation.customer_id)
        text = f.text.strip()
        if text:
            pattern = _like(text)
            query = query.where(or_(
                Customer.name.ilike(pattern, escape="\\"),
                Customer.email.ilike(pattern, escape="\\"),
                # What customers said about themselves (name, e-mail) is kept as JSON claims.
                cast(Customer.claims, String).ilike(pattern, escape="\\"),
                Conversation.contact_email.ilike(pattern, escape="\\"),
                exists().where(Message.conversation_id == Conversation.id, Message.text.ilike(pattern, escape="\\")),
                self._has_order(text.lstrip("#")),
            ))
        if f.statuses:
            query = query.where(Conversation.status.in_(list(f.statuses)))
        if f.channels:
            query = query.where(Conversation.channel.in_(list(f.channels)))
        if f.reasons:
            query = query.where(Conversation.handoff_reason.in_(list(f.reasons)))
        if f.unassigned:
            query = query.where(Conversation.assignee_id.is_(None))
        elif f.assignee_id is not None:
            query = query.where(Conversation.assignee_id == f.assignee_id)
        for tag in f.tags:
            query = query.where(exists().where(ConversationTag.conversation_id == Conversation.id,
                                               ConversationTag.tag == tag))
        if f.active_from is not None:
            query = query.where(Conversation.updated_at >= f.active_from)
        if f.active_before is not None:
            query = query.where(Conversation.updated_at < f.active_before)
        query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        query = query.limit(max(1, min(f.limit, MAX_LIMIT + 1))).offset(max(0, f.offset))   # +1: "is there more?"
        async with self.sessions() as session:
            ids = (await session.execute(query)).scalars().all()
        return await self.conversations.summaries(ids)
