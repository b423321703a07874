"""The durable outbox: messages waiting to go out on customers' channels.

An item is claimed with a lease (one UPDATE … WHERE status = 'pending'), so two workers never
send it twice; a worker that dies mid-send leaves a lease that expires and the item is retried
(`reclaimed`: on a channel that cannot de-duplicate, the worker settles it instead of re-sending).

Providers report what happened after they accepted a message (Twilio's status callbacks,
Messenger's delivery and read receipts): `record_provider_status` keeps the furthest state
reached (accepted < sent < delivered < read; failed ends it) on the item, so a late or
repeated report never moves a message backwards.
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
    reclaimed: bool = False   # its last send was cut short (the worker died mid-send): outcome unknown


# What a provider says became of a message it accepted, furthest last. "failed" ends it.
PROVIDER_PROGRESS = {"accepted": 1, "sent": 2, "delivered": 3, "read": 4}
PROVIDER_FAILED = "failed"


@dataclass(frozen=True)
class DeliveryState:
    """An item's delivery as consoles show it, after a change."""

    message_id: int
    conversation_id: int
    status: str
    provider_status: Optional[str]
    error: Optional[str]
    attempts: int


def _state(row: OutboxItem) -> DeliveryState:
    return DeliveryState(row.message_id, row.conversation_id, row.status, row.provider_status, row.last_error,
                         row.attempts)


def _advance(row: OutboxItem, provider_status: Optional[str], error: Optional[str] = None) -> bool:
    """Apply a provider's report to a row; False when it changes nothing (late, repeated, or backwards)."""
    if not provider_status or row.provider_status == PROVIDER_FAILED:
        return False
    if provider_status == PROVIDER_FAILED:
        row.provider_status, row.status, row.lease_until = PROVIDER_FAILED, "failed", None
        row.last_error = (error or "the provider could not deliver it")[:2000]
        return True
    if PROVIDER_PROGRESS.get(provider_status, 0) <= PROVIDER_PROGRESS.get(row.provider_status or "", 0):
        return False
    row.provider_status = provider_status
    if row.status == "failed":
        # Marked failed because the outcome was unknown; the provider says it got through.
        row.status, row.last_error = "sent", None
    return True


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
            candidates = (await session.execute(select(OutboxItem.id, OutboxItem.status).where(or_(
                (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now),
                (OutboxItem.status == "sending") & (OutboxItem.lease_until <= now),
            )).order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(limit))).all()
        claimed: List[OutboxEntry] = []
        for item_id, was in candidates:
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
                                           row.external_id, row.attempts, reclaimed=was == "sending"))
        return claimed

    async def mark_sent(self, item_id: int, provider_message_id: Optional[str] = None,
                        provider_status: Optional[str] = None) -> DeliveryState:
        """The provider accepted it. A status report that overtook this answer is kept, not overwritten."""
        async with self.sessions() as session, session.begin():
            row = (await session.execute(select(OutboxItem).where(OutboxItem.id == item_id)
                                         .with_for_update())).scalar_one()
            if row.status == "sending":
                row.status, row.lease_until, row.last_error = "sent", None, None
            if provider_message_id:
                row.provider_message_id = provider_message_id[:200]
            _advance(row, provider_status)
            row.updated_at = utcnow()
            return _state(row)

    async def mark_uncertain(self, item_id: int, error: str) -> DeliveryState:
        """The send's outcome is unknown: failed, not retried, unless the provider reports it got through."""
        async with self.sessions() as session, session.begin():
            row = (await session.execute(select(OutboxItem).where(OutboxItem.id == item_id)
                                         .with_for_update())).scalar_one()
            if row.status in ("sending", "pending"):
                row.status, row.lease_until, row.last_error = "failed", None, error[:2000]
                row.updated_at = utcnow()
            return _state(row)

    async def record_provider_status(self, channel: str, provider_status: str, *, item_id: Optional[int] = None,
                                     provider_message_id: Optional[str] = None,
                                     error: Optional[str] = None) -> Optional[DeliveryState]:
        """A provider's report on a message it accepted; None when it names no item of ours or changes nothing.

        With `item_id` (the provider calls back a URL that names the item) a report can settle a send
        whose answer never arrived; a report for an earlier send of the item (another message id) is
        ignored.
        """
        query = select(OutboxItem).where(OutboxItem.channel == channel)
        if item_id is not None:
            query = query.where(OutboxItem.id == item_id)
        elif provider_message_id:
            query = query.where(OutboxItem.provider_message_id == provider_message_id)
        else:
            return None
        async with self.sessions() as session, session.begin():
            row = (await session.execute(query.with_for_update())).scalars().first()
            if row is None:
                return None
            if provider_message_id and row.provider_message_id and row.provider_message_id != provider_message_id:
                return None
            if provider_message_id and not row.provider_message_id:
                row.provider_message_id = provider_message_id[:200]
            if not _advance(row, provider_status, error):
                return None
            row.updated_at = utcnow()
            return _state(row)

    async def record_read_until(self, channel: str, external_id: str, until: datetime,
                                provider_status: str = "read") -> List[DeliveryState]:
        """Every message sent to this customer before `until` reached `provider_status` (a watermark)."""
        changed: List[DeliveryState] = []
        async with self.sessions() as session, session.begin():
            rows = (await session.execute(select(OutboxItem).where(
                OutboxItem.channel == channel, OutboxItem.external_id == external_id,
                OutboxItem.status == "sent", OutboxItem.created_at <= until)
                .order_by(OutboxItem.id).with_for_update())).scalars().all()
            for row in rows:
                if _advance(row, provider_status):
                    row.updated_at = utcnow()
                    changed.append(_state(row))
        return changed

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
            # A fresh send: the provider's id and reports for the failed one no longer apply.
            row.provider_message_id, row.provider_status, row.last_error = None, None, None
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
