"""The durable outbox: messages waiting to go out on customers' channels.

An item is claimed with a lease (one UPDATE … WHERE status = 'pending'), so two workers never
send it twice; a worker that dies mid-send leaves a lease that expires and the item is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.tables import OutboxItem, utcnow


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    message_id: int
    conversation_id: int
    channel: str
    external_id: str
    attempts: int


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=utcnow().tzinfo)
    return value


class OutboxStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def enqueue(self, message_id: int, conversation_id: int, channel: str, external_id: str) -> bool:
        """Queue a message once; False when it is already queued (a repeated event)."""
        now = utcnow()
        try:
            async with self.sessions() as session, session.begin():
                session.add(OutboxItem(message_id=message_id, conversation_id=conversation_id, channel=channel,
                                       external_id=external_id, status="pending", attempts=0,
                                       next_attempt_at=now, created_at=now, updated_at=now))
        except IntegrityError:
            return False
        return True

    async def claim_due(self, limit: int = 20, lease_seconds: float = 60.0) -> List[OutboxEntry]:
        """Take due items (pending, or sending with an expired lease) for this worker."""
        now = utcnow()
        async with self.sessions() as session:
            candidates = (await session.execute(select(OutboxItem.id).where(or_(
                (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now),
                (OutboxItem.status == "sending") & (OutboxItem.lease_until <= now),
            )).order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(limit))).scalars().all()
        claimed: List[OutboxEntry] = []
        for item_id in candidates:
            async with self.sessions() as session, session.begin():
                result = await session.execute(
                    update(OutboxItem).where(OutboxItem.id == item_id, or_(
                        OutboxItem.status == "pending",
                        (OutboxItem.status == "sending") & (OutboxItem.lease_until <= now)))
                    .values(status="sending", lease_until=now + timedelta(seconds=lease_seconds),
                            attempts=OutboxItem.attempts + 1, updated_at=now)
                    .execution_options(synchronize_session=False))
                if result.rowcount != 1:
                    continue  # another worker took it
                row = await session.get(OutboxItem, item_id)
                claimed.append(OutboxEntry(row.id, row.message_id, row.conversation_id, row.channel,
                                           row.external_id, row.attempts))
        return claimed

    async def mark_sent(self, item_id: int, provider_message_id: Optional[str] = None) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(
                status="sent", lease_until=None, last_error=None, provider_message_id=provider_message_id,
                updated_at=utcnow()))

    async def retry_later(self, item_id: int, error: str, delay_seconds: float) -> None:
        now = utcnow()
        async with self.sessions() as session, session.begin():
            await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(
                status="pending", lease_until=None, last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay_seconds), updated_at=now))

    async def mark_failed(self, item_id: int, error: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(
                status="failed", lease_until=None, last_error=error[:2000], updated_at=utcnow()))

    async def retry_now(self, message_id: int) -> Optional[int]:
        """An agent's retry of a failed delivery; returns the conversation id, or None if not failed."""
        async with self.sessions() as session, session.begin():
            row = (await session.execute(select(OutboxItem).where(
                OutboxItem.message_id == message_id))).scalar_one_or_none()
            if row is None or row.status != "failed":
                return None
            row.status, row.attempts, row.next_attempt_at, row.updated_at = "pending", 0, utcnow(), utcnow()
            return row.conversation_id

    async def next_due_at(self) -> Optional[datetime]:
        async with self.sessions() as session:
            pending = (await session.execute(select(OutboxItem.next_attempt_at).where(
                OutboxItem.status == "pending").order_by(OutboxItem.next_attempt_at).limit(1))).scalar()
            leased = (await session.execute(select(OutboxItem.lease_until).where(
                OutboxItem.status == "sending").order_by(OutboxItem.lease_until).limit(1))).scalar()
        times = [t for t in (_aware(pending), _aware(leased)) if t is not None]
        return min(times) if times else None

    async def status_of(self, message_id: int) -> Optional[str]:
        async with self.sessions() as session:
            return (await session.execute(select(OutboxItem.status).where(
                OutboxItem.message_id == message_id))).scalar_one_or_none()
