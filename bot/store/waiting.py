"""The queue as waiting customers see it: positions, what each was told, offers, the e-mail they left.

Every "tell the customer" decision that more than one worker could make is a compare-and-set
(`UPDATE … WHERE <still true>` and a row count), so a notice goes out once however many
workers see the same change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import or_, select, update

from bot.domain import ConversationStatus
from bot.store.tables import Conversation, User, utcnow

QUEUED = ConversationStatus.QUEUED.value


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=utcnow().tzinfo)   # SQLite hands back naive UTC
    return value


@dataclass(frozen=True)
class WaitRow:
    """One conversation's side of the wait."""

    conversation_id: int
    status: ConversationStatus
    channel: str
    priority: int
    queued_at: Optional[datetime]
    handoff_message_id: Optional[int]
    stated_position: Optional[int]
    wait_notified_at: Optional[datetime]
    message_offered_at: Optional[datetime]
    contact_email: Optional[str]
    left_message_at: Optional[datetime]
    agent_name: Optional[str] = None   # the assignee, once the customer has been told about them
    position: Optional[int] = None     # filled in for queued conversations by `queue()`


def _row(row: Conversation, agent: Optional[User] = None, position: Optional[int] = None) -> WaitRow:
    return WaitRow(row.id, ConversationStatus(row.status), row.channel, row.priority or 0, _aware(row.queued_at),
                   row.handoff_message_id, row.stated_position, _aware(row.wait_notified_at),
                   _aware(row.message_offered_at), row.contact_email, _aware(row.left_message_at),
                   (agent.display_name or agent.username) if agent is not None else None, position)


class WaitingStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def queue(self) -> List[WaitRow]:
        """Every queued conversation in queue order (priority, then who waited longest), with its place."""
        async with self.sessions() as session:
            rows = (await session.execute(select(Conversation).where(Conversation.status == QUEUED).order_by(
                Conversation.priority.desc(), Conversation.queued_at.asc(), Conversation.id.asc()))).scalars().all()
        return [_row(r, position=i) for i, r in enumerate(rows, start=1)]

    async def get(self, conversation_id: int) -> Optional[WaitRow]:
        async with self.sessions() as session:
            row = await session.get(Conversation, conversation_id)
            if row is None:
                return None
            # Until the assignee opens it (a transfer), the customer has not been told who it is.
            told = row.assignee_id and row.announced_assignee_id == row.assignee_id
            agent = await session.get(User, row.assignee_id) if told else None
            return _row(row, agent)

    async def raise_stated(self, conversation_id: int, position: int) -> bool:
        """Record that the customer is told a worse place; True for the one worker that should tell them."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.status == QUEUED,
                or_(Conversation.stated_position.is_(None), Conversation.stated_position < position))
                .values(stated_position=position))
            return result.rowcount == 1

    async def set_stated(self, conversation_id: int, position: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.status == QUEUED).values(stated_position=position))

    async def take_notice_slot(self, conversation_id: int, not_since: datetime, position: int) -> bool:
        """A waiting notice for a channel without a live status, at most once per interval."""
        now = utcnow()
        async with self.sessions() as session, session.begin():
            result = await session.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.status == QUEUED,
                or_(Conversation.wait_notified_at.is_(None), Conversation.wait_notified_at < not_since))
                .values(wait_notified_at=now, stated_position=position))
            return result.rowcount == 1

    async def take_offer(self, conversation_id: int) -> bool:
        """Offer to leave a message once per wait."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.status == QUEUED,
                Conversation.message_offered_at.is_(None)).values(message_offered_at=utcnow()))
            return result.rowcount == 1

    async def overdue(self, queued_before: datetime, limit: int = 200) -> List[int]:
        """Queued since before `queued_before` and not yet offered to leave a message."""
        async with self.sessions() as session:
            return list((await session.execute(select(Conversation.id).where(
                Conversation.status == QUEUED, Conversation.queued_at < queued_before,
                Conversation.message_offered_at.is_(None)).order_by(Conversation.id).limit(limit))).scalars())

    async def leave_contact(self, conversation_id: int, email: str) -> bool:
        """The e-mail address a waiting customer left for an answer (the latest one counts)."""
        async with self.sessions() as session, session.begin():
            now = utcnow()
            result = await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
                contact_email=email[:320], left_message_at=now, updated_at=now))
            return result.rowcount == 1
