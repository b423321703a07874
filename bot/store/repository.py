"""Conversation store operations. Each public method is one short transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.domain import ConversationStatus, InboundMessage, SenderKind
from bot.state_machine import InvalidTransition, Transition, allowed_from, next_status
from bot.store import serialize
from bot.store.database import session_factory
from bot.store.tables import ChannelIdentity, Conversation, Customer, Message, User, utcnow


class NotFound(Exception):
    pass


@dataclass
class StoredInbound:
    conversation: Conversation
    message: Message
    reopened: bool = False
    created: bool = False


@dataclass
class DuplicateInbound:
    conversation_id: int
    message: Message
    replies: List[Message]


def _apply_profile(customer: Customer, inbound: InboundMessage) -> None:
    """What a channel tells us about the customer fills gaps; it never overwrites."""
    meta = inbound.metadata or {}
    name = inbound.customer_name or meta.get("customer_name") or meta.get("name")
    email = meta.get("customer_email") or meta.get("email")
    if name and not customer.name:
        customer.name = str(name)[:200]
    if email and not customer.email and "@" in str(email):
        customer.email = str(email)[:320]
    shop_id = meta.get("customer_id") or meta.get("shop_customer_id")
    if shop_id and not (customer.profile or {}).get("shop_customer_id"):
        customer.profile = {**(customer.profile or {}), "shop_customer_id": str(shop_id)}


OPEN_STATUSES = (ConversationStatus.BOT.value, ConversationStatus.QUEUED.value,
                 ConversationStatus.ASSIGNED.value)


class ConversationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    # ---- customer side -------------------------------------------------------

    async def record_inbound(self, inbound: InboundMessage) -> StoredInbound | DuplicateInbound:
        """Commit the customer's message (and its customer/conversation) before anything else."""
        if inbound.channel_message_id:
            duplicate = await self.find_duplicate(inbound.channel, inbound.channel_message_id)
            if duplicate:
                return duplicate
        try:
            async with self.sessions() as session, session.begin():
                identity = await self._identity(session, inbound)
                conversation, created, reopened = await self._open_conversation(session, identity, inbound)
                message = Message(conversation_id=conversation.id, sender=SenderKind.CUSTOMER.value,
                                  text=inbound.text, channel=inbound.channel,
                                  channel_message_id=inbound.channel_message_id)
                session.add(message)
                conversation.updated_at = utcnow()
                await session.flush()
            return StoredInbound(conversation, message, reopened=reopened, created=created)
        except IntegrityError:
            # Two deliveries of one message raced; the loser reports the winner's message.
            if inbound.channel_message_id:
                duplicate = await self.find_duplicate(inbound.channel, inbound.channel_message_id)
                if duplicate:
                    return duplicate
            raise

    async def find_duplicate(self, channel: str, channel_message_id: str) -> Optional[DuplicateInbound]:
        async with self.sessions() as session:
            existing = (await session.execute(select(Message).where(
                Message.channel == channel, Message.channel_message_id == channel_message_id))).scalar_one_or_none()
            if existing is None:
                return None
            replies = (await session.execute(select(Message).where(
                Message.in_reply_to_id == existing.id).order_by(Message.id))).scalars().all()
            return DuplicateInbound(existing.conversation_id, existing, list(replies))

    async def _identity(self, session: AsyncSession, inbound: InboundMessage) -> ChannelIdentity:
        identity = (await session.execute(select(ChannelIdentity).where(
            ChannelIdentity.channel == inbound.channel,
            ChannelIdentity.external_id == inbound.external_id))).scalar_one_or_none()
        if identity is not None:
            customer = await session.get(Customer, identity.customer_id)
            if customer is not None:
                _apply_profile(customer, inbound)
            return identity
        customer = Customer(profile={})
        _apply_profile(customer, inbound)
        session.add(customer)
        await session.flush()
        identity = ChannelIdentity(customer_id=customer.id, channel=inbound.channel,
                                   external_id=inbound.external_id)
        session.add(identity)
        await session.flush()
        return identity

    async def _open_conversation(self, session: AsyncSession, identity: ChannelIdentity,
                                 inbound: InboundMessage) -> Tuple[Conversation, bool, bool]:
        latest = (await session.execute(select(Conversation).where(
            Conversation.identity_id == identity.id).order_by(Conversation.id.desc()).limit(1)
        )).scalar_one_or_none()
        metadata = {k: v for k, v in (inbound.metadata or {}).items() if v not in (None, "")}
        if latest is None:
            conversation = Conversation(customer_id=identity.customer_id, identity_id=identity.id,
                                        channel=inbound.channel, status=ConversationStatus.BOT.value,
                                        conversation_metadata=metadata)
            session.add(conversation)
            await session.flush()
            return conversation, True, False
        if metadata:
            latest.conversation_metadata = {**(latest.conversation_metadata or {}), **metadata}
        if latest.status == ConversationStatus.RESOLVED.value:
            latest.status = next_status(ConversationStatus.RESOLVED, Transition.REOPEN).value
            latest.assignee_id = None
            latest.resolved_at = None
            latest.consecutive_misses = 0
            return latest, False, True
        return latest, False, False

    async def annotate(self, message_id: int, nlu: Optional[Dict[str, Any]]) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Message).where(Message.id == message_id).values(nlu=nlu))

    async def set_misses(self, conversation_id: int, misses: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Conversation).where(
                Conversation.id == conversation_id).values(consecutive_misses=misses))

    async def add_messages(self, conversation_id: int, messages: Iterable[Dict[str, Any]]) -> List[Message]:
        rows = []
        async with self.sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id}")
            for fields in messages:
                row = Message(conversation_id=conversation_id, channel=conversation.channel, **fields)
                session.add(row)
                rows.append(row)
            conversation.updated_at = utcnow()
            await session.flush()
        return rows

    # ---- the state machine, applied atomically ------------------------------

    async def transition(self, conversation_id: int, transition: Transition,
                         values: Optional[Dict[str, Any]] = None,
                         only_if: Sequence[Any] = ()) -> Conversation:
        """Move a conversation along the state machine, or raise InvalidTransition.

        The status check and the change are one UPDATE … WHERE status IN (…), so two
        agents claiming at once cannot both win, on SQLite or PostgreSQL alike.
        """
        sources = [s.value for s in allowed_from(transition)]
        target = next_status(next(iter(allowed_from(transition))), transition)
        changes = {"status": target.value, "updated_at": utcnow(), **(values or {})}
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.status.in_(sources), *only_if)
                .values(**changes)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                current = await session.get(Conversation, conversation_id)
                if current is None:
                    raise NotFound(f"conversation {conversation_id}")
                raise InvalidTransition(transition, ConversationStatus(current.status))
        return await self.get(conversation_id)

    # ---- reads -------------------------------------------------------------------

    async def get(self, conversation_id: int) -> Conversation:
        async with self.sessions() as session:
            row = await session.get(Conversation, conversation_id)
            if row is None:
                raise NotFound(f"conversation {conversation_id}")
            return row

    async def identity_of(self, conversation_id: int) -> ChannelIdentity:
        async with self.sessions() as session:
            row = (await session.execute(select(ChannelIdentity).join(
                Conversation, Conversation.identity_id == ChannelIdentity.id).where(
                Conversation.id == conversation_id))).scalar_one_or_none()
            if row is None:
                raise NotFound(f"conversation {conversation_id}")
            return row

    async def queue_position(self, conversation_id: int) -> int:
        async with self.sessions() as session:
            me = await session.get(Conversation, conversation_id)
            if me is None or me.status != ConversationStatus.QUEUED.value:
                return 0
            ahead = (await session.execute(select(func.count()).select_from(Conversation).where(
                Conversation.status == ConversationStatus.QUEUED.value,
                Conversation.id != me.id,
                or_(Conversation.priority > me.priority,
                    and_(Conversation.priority == me.priority, Conversation.queued_at <= me.queued_at)),
            ))).scalar_one()
            return int(ahead) + 1

    async def summary(self, conversation_id: int) -> Dict[str, Any]:
        summaries = await self.summaries([conversation_id])
        if not summaries:
            raise NotFound(f"conversation {conversation_id}")
        return summaries[0]

    async def summaries(self, ids: Sequence[int]) -> List[Dict[str, Any]]:
        if not ids:
            return []
        async with self.sessions() as session:
            rows = (await session.execute(
                select(Conversation, Customer).join(Customer, Customer.id == Conversation.customer_id)
                .where(Conversation.id.in_(list(ids))))).all()
            assignee_ids = {c.assignee_id for c, _ in rows if c.assignee_id}
            users = {u.id: u for u in (await session.execute(
                select(User).where(User.id.in_(assignee_ids)))).scalars()} if assignee_ids else {}
            last_ids = (await session.execute(
                select(func.max(Message.id)).where(Message.conversation_id.in_(list(ids)),
                                                   Message.sender != SenderKind.NOTE.value)
                .group_by(Message.conversation_id))).scalars().all()
            lasts = {m.conversation_id: m for m in (await session.execute(
                select(Message).where(Message.id.in_(last_ids)))).scalars()} if last_ids else {}
        by_id = {c.id: serialize.conversation(c, cust, users.get(c.assignee_id), lasts.get(c.id))
                 for c, cust in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def list_conversations(self, statuses: Sequence[str], limit: int = 100,
                                 assignee_id: Optional[int] = None,
                                 customer_id: Optional[int] = None,
                                 identity: Optional[Tuple[str, str]] = None) -> List[Dict[str, Any]]:
        query = select(Conversation.id).where(Conversation.status.in_(list(statuses)))
        if identity is not None:
            query = query.join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id).where(
                ChannelIdentity.channel == identity[0], ChannelIdentity.external_id == identity[1])
        if assignee_id is not None:
            query = query.where(Conversation.assignee_id == assignee_id)
        if customer_id is not None:
            query = query.where(Conversation.customer_id == customer_id)
        if list(statuses) == [ConversationStatus.QUEUED.value]:
            query = query.order_by(Conversation.priority.desc(), Conversation.queued_at.asc())
        else:
            query = query.order_by(Conversation.updated_at.desc())
        async with self.sessions() as session:
            ids = (await session.execute(query.limit(limit))).scalars().all()
        return await self.summaries(ids)

    async def messages(self, conversation_id: int, include_notes: bool = True) -> List[Dict[str, Any]]:
        query = select(Message).where(Message.conversation_id == conversation_id)
        if not include_notes:
            query = query.where(Message.sender != SenderKind.NOTE.value)
        return await self._serialise(query.order_by(Message.id))

    async def messages_after(self, after_id: int, limit: int = 1000) -> List[Dict[str, Any]]:
        """Every message newer than a cursor, oldest first: what a reconnecting console missed."""
        query = select(Message).where(Message.id > after_id).order_by(Message.id).limit(limit)
        return await self._serialise(query)

    async def serialise_messages(self, rows: Sequence[Message]) -> List[Dict[str, Any]]:
        return await self._serialise(select(Message).where(Message.id.in_([r.id for r in rows]))
                                     .order_by(Message.id)) if rows else []

    async def _serialise(self, query) -> List[Dict[str, Any]]:
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars().all()
            if not rows:
                return []
            agent_ids = {r.agent_id for r in rows if r.agent_id}
            agents = {u.id: u for u in (await session.execute(
                select(User).where(User.id.in_(agent_ids)))).scalars()} if agent_ids else {}
            conv_ids = {r.conversation_id for r in rows}
            triggers = dict((await session.execute(select(
                Conversation.id, Conversation.handoff_message_id).where(Conversation.id.in_(conv_ids)))).all())
        return [serialize.message(r, agents.get(r.agent_id), triggers.get(r.conversation_id)) for r in rows]

    async def get_message(self, message_id: int) -> Message:
        async with self.sessions() as session:
            row = await session.get(Message, message_id)
            if row is None:
                raise NotFound(f"message {message_id}")
            return row

    async def set_label(self, message_id: int, label: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        async with self.sessions() as session, session.begin():
            row = await session.get(Message, message_id)
            if row is None:
                raise NotFound(f"message {message_id}")
            if row.sender != SenderKind.CUSTOMER.value:
                raise ValueError("only customer messages carry an intent label")
            row.label = label
        return (await self._serialise(select(Message).where(Message.id == message_id)))[0]

    async def review_items(self, limit: int = 200) -> List[Dict[str, Any]]:
        """Customer messages an agent labelled, or that handed a conversation off."""
        async with self.sessions() as session:
            trigger_ids = select(Conversation.handoff_message_id).where(
                Conversation.handoff_message_id.isnot(None))
            ids = (await session.execute(select(Message.id).where(
                Message.sender == SenderKind.CUSTOMER.value,
                or_(Message.label.isnot(None), Message.id.in_(trigger_ids)),
            ).order_by(Message.id.desc()).limit(limit))).scalars().all()
        return await self._serialise(select(Message).where(Message.id.in_(ids)).order_by(Message.id.desc())) if ids else []

    async def latest_conversation_for(self, channel: str, external_id: str) -> Optional[int]:
        async with self.sessions() as session:
            return (await session.execute(
                select(Conversation.id).join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
                .order_by(Conversation.id.desc()).limit(1))).scalar_one_or_none()
