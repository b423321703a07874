"""The trainers' review inbox: customer messages the bot was unsure about, and what trainers made of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import func, select, update

from bot.domain import SenderKind
from bot.store.tables import Conversation, Message, utcnow
from bot.views import iso

OPEN = "open"
DONE_STATUSES = ("confirmed", "relabelled", "out_of_scope", "dismissed")


@dataclass(frozen=True)
class ReviewFilter:
    status: str = OPEN                 # open | done | all
    reasons: Sequence[str] = ()
    intent: Optional[str] = None       # the bot's predicted intent
    channel: Optional[str] = None
    labelled: Optional[bool] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    text: Optional[str] = None
    before_id: Optional[int] = None
    limit: int = 100


@dataclass(frozen=True)
class ReviewItem:
    message_id: int
    conversation_id: int
    text: str
    channel: str
    reason: str
    status: Optional[str]
    nlu: Optional[Dict[str, Any]]
    label: Optional[Dict[str, Any]]
    review: Optional[Dict[str, Any]]
    created_at: Optional[datetime]
    handoff_reason: Optional[str] = None

    @property
    def predicted(self) -> Optional[str]:
        return (self.nlu or {}).get("intent")

    def top(self, n: int = 3) -> List[Dict[str, Any]]:
        ranking = [r for r in (self.nlu or {}).get("ranking") or [] if r.get("name") != "nlu_fallback"]
        return ranking[:n]

    def as_json(self) -> Dict[str, Any]:
        return {"message_id": self.message_id, "conversation_id": self.conversation_id, "text": self.text,
                "channel": self.channel, "reason": self.reason, "status": self.status or OPEN,
                "predicted": self.predicted, "confidence": (self.nlu or {}).get("confidence"),
                "top_intents": self.top(), "entities": (self.nlu or {}).get("entities") or [],
                "label": self.label, "review": self.review, "created_at": iso(self.created_at)}


@dataclass
class ReviewPage:
    items: List[ReviewItem] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=dict)
    total_open: int = 0


def _item(row: Message) -> ReviewItem:
    return ReviewItem(row.id, row.conversation_id, row.text or "", row.channel, row.review_reason or "",
                      row.review_status, row.nlu, row.label, row.review, row.created_at)


class ReviewStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    def _query(self, f: ReviewFilter, with_paging: bool = True):
        query = select(Message).where(Message.sender == SenderKind.CUSTOMER.value, Message.review_reason.isnot(None))
        if f.status == OPEN:
            query = query.where(Message.review_status.is_(None))
        elif f.status == "done":
            query = query.where(Message.review_status.isnot(None))
        if f.reasons:
            query = query.where(Message.review_reason.in_(list(f.reasons)))
        if f.channel:
            query = query.where(Message.channel == f.channel)
        if f.labelled is True:
            query = query.where(Message.label.isnot(None))
        elif f.labelled is False:
            query = query.where(Message.label.is_(None))
        if f.since:
            query = query.where(Message.created_at >= f.since)
        if f.until:
            query = query.where(Message.created_at < f.until)
        if f.text:
            pattern = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(func.lower(Message.text).like(pattern.lower(), escape="\\"))
        if with_paging and f.before_id:
            query = query.where(Message.id < f.before_id)
        return query

    async def page(self, f: ReviewFilter) -> ReviewPage:
        async with self.sessions() as session:
            rows = (await session.execute(self._query(f).order_by(Message.id.desc())
                                          .limit(f.limit * (4 if f.intent else 1)))).scalars().all()
            counts = dict((await session.execute(
                select(Message.review_reason, func.count()).where(
                    Message.sender == SenderKind.CUSTOMER.value, Message.review_reason.isnot(None),
                    Message.review_status.is_(None)).group_by(Message.review_reason))).all())
        items = [_item(r) for r in rows]
        if f.intent:  # the predicted intent lives in the NLU annotation (JSON): filtered here, portably
            items = [i for i in items if i.predicted == f.intent][:f.limit]
        return ReviewPage(items, counts, sum(counts.values()))

    async def items(self, message_ids: Sequence[int]) -> List[ReviewItem]:
        async with self.sessions() as session:
            rows = (await session.execute(select(Message).where(
                Message.id.in_(list(message_ids)), Message.sender == SenderKind.CUSTOMER.value))).scalars().all()
        return [_item(r) for r in rows]

    async def similar(self, message_id: int, limit: int = 50) -> List[ReviewItem]:
        """Open items the bot guessed the same way, for acting on them together."""
        [item] = await self.items([message_id]) or [None]
        if item is None:
            return []
        page = await self.page(ReviewFilter(intent=item.predicted, limit=limit))
        return [i for i in page.items if i.message_id != message_id]

    async def mark(self, message_ids: Sequence[int], status: str, review: Dict[str, Any]) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(update(Message).where(
                Message.id.in_(list(message_ids)), Message.sender == SenderKind.CUSTOMER.value,
                Message.review_reason.isnot(None)).values(
                review_status=status, review={**review, "at": utcnow().isoformat()}))
            return result.rowcount

    async def reopen(self, message_id: int, reason: str) -> None:
        """Back into the inbox (an agent labelled it): keep the first reason, clear the verdict."""
        async with self.sessions() as session, session.begin():
            row = await session.get(Message, message_id)
            if row is not None and row.sender == SenderKind.CUSTOMER.value:
                row.review_reason = row.review_reason or reason
                row.review_status = None

    async def handoff_reasons(self, message_ids: Sequence[int]) -> Dict[int, str]:
        async with self.sessions() as session:
            return dict((await session.execute(select(Conversation.handoff_message_id, Conversation.handoff_reason)
                                               .where(Conversation.handoff_message_id.in_(list(message_ids))))).all())

    async def reviewed_counts(self, since: datetime) -> Dict[str, int]:
        async with self.sessions() as session:
            return dict((await session.execute(select(Message.review_status, func.count()).where(
                Message.review_status.isnot(None), Message.created_at >= since).group_by(Message.review_status))).all())

