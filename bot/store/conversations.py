"""Conversations and their messages. Each public method is one short transaction.

The customer's turn (`record_inbound`, `finish_turn`) is written as plain functions of a
session run by `in_transaction` (bot/store/transactions.py): on SQLite a whole transaction is
one trip to the database thread.

The store hands out typed views (`bot/views.py`), never rows, so nothing outside `bot/store/`
needs to know a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain import ConversationStatus, CustomerClaims, InboundMessage, SenderKind
from bot.state_machine import InvalidTransition, Transition, allowed_from, next_status
from bot.store.rows import agent_brief, conversation_record, conversation_view, message_view
from bot.store.tables import (
    ChannelIdentity, Conversation, ConversationTag, Customer, Message, OutboxItem, User, utcnow,
)
from bot.store.transactions import in_transaction
from bot.views import (
    ConversationRecord, ConversationView, CustomerProfile, IdentityView, MessageView,
)

OPEN_STATUSES = (ConversationStatus.BOT.value, ConversationStatus.QUEUED.value,
                 ConversationStatus.ASSIGNED.value)
PER_MESSAGE_METADATA = ("display_text", "init_payload")
TURN_PENDING = "pending"
TURN_DONE = "done"


_IDENTITIES = ChannelIdentity.__table__
_MESSAGES = Message.__table__
_CONVERSATIONS = Conversation.__table__
# What a ConversationRecord (bot/store/rows.py) reads, and the metadata a message may add to.
_RECORD_COLUMNS = tuple(_CONVERSATIONS.c[name] for name in (
    "id", "uid", "status", "channel", "customer_id", "identity_id", "assignee_id", "consecutive_misses",
    "handoff_message_id", "metadata"))

# The customer's turn runs these on every message. Built once, with their values bound at execution:
# building a statement and computing its cache key cost several times more than running it
# (measured: 135-190 us against 21-37 us a statement on SQLite).
_FIND_IDENTITY = select(_IDENTITIES.c.id, _IDENTITIES.c.customer_id).where(
    _IDENTITIES.c.channel == bindparam("b_channel"), _IDENTITIES.c.external_id == bindparam("b_external_id"))
_LATEST_CONVERSATION = select(*_RECORD_COLUMNS).where(
    _CONVERSATIONS.c.identity_id == bindparam("b_identity_id")).order_by(_CONVERSATIONS.c.id.desc()).limit(1)
_LAST_OFFER = select(_MESSAGES.c.payload).where(
    _MESSAGES.c.conversation_id == bindparam("b_conversation_id"), _MESSAGES.c.sender == SenderKind.BOT.value,
    _MESSAGES.c.payload.isnot(None)).order_by(_MESSAGES.c.id.desc()).limit(1)
_INSERT_MESSAGE = insert(_MESSAGES)   # the columns are the keys of the values given
_UPDATE_MESSAGE = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("b_id"))
_UPDATE_CONVERSATION = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("b_id"))
_UPDATE_CONVERSATION_WITH_BOT = update(_CONVERSATIONS).where(
    _CONVERSATIONS.c.id == bindparam("b_id"), _CONVERSATIONS.c.status == ConversationStatus.BOT.value)


class NotFound(Exception):
    pass


class IdentityKey(NamedTuple):
    """A channel identity, as far as a turn needs it."""

    id: int
    customer_id: int


@dataclass(frozen=True)
class MessageDraft:
    """A message about to be stored (bot, system, agent or note)."""

    sender: SenderKind
    text: str = ""
    payload: Optional[Dict[str, Any]] = None
    agent_id: Optional[int] = None
    in_reply_to_id: Optional[int] = None


@dataclass(frozen=True)
class StoredInbound:
    conversation: ConversationRecord
    message: MessageView
    reopened: bool = False
    created: bool = False


@dataclass(frozen=True)
class DuplicateInbound:
    """A message seen before (same sender, same channel message id)."""

    conversation: ConversationRecord
    message: MessageView
    replies: List[MessageView]
    turn_finished: bool


@dataclass(frozen=True)
class HandoffWrite:
    """The conversation changes a handoff makes, applied in the turn's one transaction."""

    reason: Optional[str]
    detail: str
    priority: int
    # The text for the customer: `{position}` becomes their place in the queue; or a function of
    # that place (the waiting room adds an estimate, or says honestly that nobody is in).
    notice: Union[str, Callable[[int], str]]
    offers_message: bool = False   # the notice offered to leave a message (nobody available)

    def notice_text(self, position: int) -> str:
        return self.notice(position) if callable(self.notice) else self.notice.format(position=position)


@dataclass(frozen=True)
class TurnOutcome:
    """What the end of a customer's turn wrote."""

    conversation: ConversationRecord
    messages: List[MessageView] = field(default_factory=list)
    handed_off: bool = False
    queue_position: int = 0


def _apply_claims(customer: Customer, claims: CustomerClaims) -> None:
    """Verified identity fills the customer's own fields; anything else is kept as a claim."""
    if claims.is_empty():
        return
    if claims.phone and claims.phone_verified:
        customer.phone = claims.phone[:40]
    if claims.email and claims.email_verified and "@" in claims.email:
        customer.email = claims.email[:320]
        customer.email_verified = True
    if claims.verified:
        if claims.shop_customer_id:
            customer.shop_customer_id = claims.shop_customer_id[:200]
        if claims.email and "@" in claims.email:
            customer.email = claims.email[:320]
            customer.email_verified = True
        if claims.name:
            customer.name = claims.name[:200]
        return
    if claims.id_verified and claims.shop_customer_id:
        # The signature covers the id only: a name or e-mail sent alongside stays a claim, or a
        # visitor could pair their own signed id with someone else's e-mail.
        customer.shop_customer_id = claims.shop_customer_id[:200]
    current = dict(customer.claims or {})
    for key, value in (("name", claims.name), ("email", None if claims.email_verified else claims.email),
                       ("phone", None if claims.phone_verified else claims.phone),
                       ("shop_customer_id", None if claims.id_verified else claims.shop_customer_id)):
        if value:
            current[key] = value[:320]
    if current != (customer.claims or {}):
        customer.claims = current


def _delivery(status: str, error: Optional[str], attempts: int, provider_status: Optional[str]) -> Dict[str, Any]:
    """A message's delivery; `provider_status` (delivered, read…) where the provider reported one."""
    delivery: Dict[str, Any] = {"status": status, "error": error, "attempts": attempts}
    if provider_status:
        delivery["provider_status"] = provider_status
    return delivery


def _draft_values(conversation_id: int, channel: str, draft: MessageDraft, now: datetime) -> Dict[str, Any]:
    """A drafted message's columns, for the ORM (`_add`) and for a Core INSERT (`_insert_drafts`) alike."""
    return dict(conversation_id=conversation_id, channel=channel, sender=draft.sender.value, text=draft.text,
                payload=draft.payload, agent_id=draft.agent_id, in_reply_to_id=draft.in_reply_to_id, created_at=now)


def _insert_drafts(connection: Any, conversation_id: int, channel: str, drafts: Iterable[MessageDraft],
                   now: datetime) -> List[Message]:
    """The turn's replies, one Core INSERT each; transient rows carry what a view needs."""
    rows = []
    for draft in drafts:
        values = _draft_values(conversation_id, channel, draft, now)
        inserted = connection.execute(_INSERT_MESSAGE, values).inserted_primary_key[0]
        rows.append(Message(id=inserted, **values))
    return rows


class ConversationStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.engine = sessions.kw["bind"]

    # ---- the customer's turn -------------------------------------------------

    async def record_inbound(self, inbound: InboundMessage) -> StoredInbound | DuplicateInbound:
        """Commit the customer's message (and its customer/conversation) before anything else."""
        try:
            return await in_transaction(self.engine, self._record_inbound, inbound)
        except IntegrityError:
            # Two deliveries of one message raced; the loser reports the winner's message.
            if inbound.channel_message_id:
                duplicate = await in_transaction(self.engine, self._earlier_delivery, inbound)
                if duplicate is not None:
                    return duplicate
            raise

    def _record_inbound(self, session: Session, inbound: InboundMessage) -> StoredInbound | DuplicateInbound:
        identity = self._identity(session, inbound)
        if inbound.channel_message_id:
            duplicate = self._duplicate(session, identity.id, inbound.channel_message_id)
            if duplicate is not None:
                return duplicate
        now = utcnow()
        conversation, created, reopened = self._open_conversation(session, identity, inbound, now)
        tapped = None if created else self._tapped_button(session, conversation.id, inbound.text)
        values = dict(conversation_id=conversation.id, sender=SenderKind.CUSTOMER.value, text=inbound.text,
                      channel=inbound.channel, identity_id=identity.id, channel_message_id=inbound.channel_message_id,
                      turn_state=TURN_PENDING, payload={"display_text": tapped} if tapped else None, created_at=now)
        # A Core INSERT: the ORM's unit of work cost more than the statement itself.
        inserted = session.connection().execute(_INSERT_MESSAGE, values).inserted_primary_key[0]
        return StoredInbound(conversation_record(conversation), message_view(Message(id=inserted, **values)),
                             reopened=reopened, created=created)

    def _earlier_delivery(self, session: Session, inbound: InboundMessage) -> Optional[DuplicateInbound]:
        identity = self._find_identity(session, inbound.channel, inbound.external_id)
        if identity is None:
            return None
        return self._duplicate(session, identity.id, inbound.channel_message_id)

    def _duplicate(self, session: Session, identity_id: int,
                   channel_message_id: str) -> Optional[DuplicateInbound]:
        existing = session.execute(select(Message).where(
            Message.identity_id == identity_id,
            Message.channel_message_id == channel_message_id)).scalar_one_or_none()
        if existing is None:
            return None
        conversation = session.get(Conversation, existing.conversation_id)
        replies = session.execute(select(Message).where(
            Message.in_reply_to_id == existing.id).order_by(Message.id)).scalars().all()
        return DuplicateInbound(conversation_record(conversation), message_view(existing),
                                [message_view(r) for r in replies],
                                turn_finished=existing.turn_state != TURN_PENDING)

    def _tapped_button(self, session: Session, conversation_id: int, text: str) -> Optional[str]:
        """The title of the button whose payload this message is ("/affirm" → "Yes, please"), if any.

        Taken from the buttons the bot last offered, never from what the client says it showed: a
        customer cannot make agents read a title that was not on offer.
        """
        if not text or len(text) > 500:
            return None
        offered = session.connection().execute(_LAST_OFFER, {"b_conversation_id": conversation_id}).scalar_one_or_none()
        for button in (offered or {}).get("buttons") or []:
            if isinstance(button, dict) and button.get("payload") == text and button.get("title"):
                title = str(button["title"])[:200]
                return title if title != text else None
        return None

    def _find_identity(self, session: Session, channel: str, external_id: str) -> Optional[IdentityKey]:
        # Plain columns on the session's connection: loading an ORM object here cost more than the rest
        # of the customer's first transaction.
        row = session.connection().execute(_FIND_IDENTITY, {"b_channel": channel,
                                                            "b_external_id": external_id}).first()
        return IdentityKey(row.id, row.customer_id) if row is not None else None

    def _identity(self, session: Session, inbound: InboundMessage) -> IdentityKey:
        identity = self._find_identity(session, inbound.channel, inbound.external_id)
        if identity is not None:
            if not inbound.customer.is_empty():
                customer = session.get(Customer, identity.customer_id)
                if customer is not None:
                    _apply_claims(customer, inbound.customer)
            return identity
        customer = self._same_person(session, inbound.customer)
        if customer is None:
            customer = Customer(profile={}, claims={}, email_verified=False)
            session.add(customer)
        _apply_claims(customer, inbound.customer)
        session.flush()
        identity = ChannelIdentity(customer_id=customer.id, channel=inbound.channel,
                                   external_id=inbound.external_id)
        session.add(identity)
        session.flush()
        return IdentityKey(identity.id, identity.customer_id)

    def _same_person(self, session: Session, claims: CustomerClaims) -> Optional[Customer]:
        """The customer a new channel identity belongs to: one with the same verified phone or e-mail.

        Only proven details link identities: anyone can type someone else's e-mail into a chat,
        so a claim never shows an agent another person's conversations.
        """
        if claims.phone and claims.phone_verified:
            found = session.execute(select(Customer).where(Customer.phone == claims.phone[:40])
                                    .order_by(Customer.id).limit(1)).scalar_one_or_none()
            if found is not None:
                return found
        if claims.email and "@" in claims.email and (claims.email_verified or claims.verified):
            return session.execute(select(Customer).where(
                func.lower(Customer.email) == claims.email[:320].lower(), Customer.email_verified.is_(True))
                .order_by(Customer.id).limit(1)).scalar_one_or_none()
        return None

    def _open_conversation(self, session: Session, identity: IdentityKey, inbound: InboundMessage,
                           now: datetime) -> Tuple[Any, bool, bool]:
        """The conversation this message belongs to (created or reopened if need be), its clock set to `now`:
        an ORM row, or for the common case of an open conversation that only gets the time, a plain row."""
        connection = session.connection()
        found = connection.execute(_LATEST_CONVERSATION, {"b_identity_id": identity.id}).first()
        # What belongs to one message (the title a widget showed for a tapped button) is not the conversation's.
        metadata = {k: v for k, v in (inbound.metadata or {}).items()
                    if v not in (None, "") and k not in PER_MESSAGE_METADATA}
        if found is None:
            conversation = Conversation(customer_id=identity.customer_id, identity_id=identity.id,
                                        channel=inbound.channel, status=ConversationStatus.BOT.value,
                                        conversation_metadata=metadata, priority=0, consecutive_misses=0,
                                        created_at=now, updated_at=now)
            session.add(conversation)
            session.flush()
            return conversation, True, False
        stored_metadata = found.metadata or {}
        new_metadata = bool(metadata) and {**stored_metadata, **metadata} != stored_metadata
        if not new_metadata and found.status != ConversationStatus.RESOLVED.value:
            connection.execute(_UPDATE_CONVERSATION, {"b_id": found.id, "updated_at": now})
            return found, False, False
        latest = session.get(Conversation, found.id)
        latest.updated_at = now
        if new_metadata:
            latest.conversation_metadata = {**stored_metadata, **metadata}
        if latest.status == ConversationStatus.RESOLVED.value:
            # A customer who writes again starts fresh with the bot: no old priority or reason.
            latest.status = next_status(ConversationStatus.RESOLVED, Transition.REOPEN).value
            latest.assignee_id = None
            latest.resolved_at = None
            latest.consecutive_misses = 0
            latest.priority = 0
            latest.handoff_reason = None
            latest.handoff_detail = None
            latest.handoff_message_id = None
            latest.queued_at = None
            latest.stated_position = None
            latest.wait_notified_at = None
            latest.message_offered_at = None
            latest.contact_email = None
            latest.left_message_at = None
            latest.announced_assignee_id = None
            return latest, False, True
        return latest, False, False

    async def finish_turn(self, conversation: ConversationRecord, message_id: int,
                          nlu: Optional[Dict[str, Any]], replies: Sequence[MessageDraft] = (),
                          misses: Optional[int] = None,
                          handoff: Optional[HandoffWrite] = None,
                          review_reason: Optional[str] = None) -> TurnOutcome:
        """Everything the end of a turn writes, in one transaction.

        The customer's message is already committed (record_inbound); this annotates it, stores
        the replies, applies a handoff atomically (or learns that someone else moved the
        conversation meanwhile), and marks the turn finished.
        """
        return await in_transaction(self.engine, self._finish_turn, conversation, message_id, nlu, replies, misses,
                                    handoff, review_reason)

    def _finish_turn(self, session: Session, conversation: ConversationRecord, message_id: int,
                     nlu: Optional[Dict[str, Any]], replies: Sequence[MessageDraft], misses: Optional[int],
                     handoff: Optional[HandoffWrite], review_reason: Optional[str]) -> TurnOutcome:
        values: Dict[str, Any] = {"turn_state": TURN_DONE}
        if nlu is not None:
            values["nlu"] = nlu
        if review_reason is not None:
            values["review_reason"] = review_reason   # the bot was unsure: trainers see it
        # Core statements on the session's connection: the ORM's UPDATE would first look for the rows
        # among the objects the session holds (it holds none of these).
        connection = session.connection()
        connection.execute(_UPDATE_MESSAGE, {"b_id": message_id, **values})
        now = utcnow()
        handed_off, position = False, 0
        drafts = list(replies)
        record: Optional[ConversationRecord] = None   # known without a read when the bot's replies went in
        if handoff is not None:
            handed_off = self._apply_transition(session, conversation.id, Transition.HANDOFF, {
                "handoff_reason": handoff.reason, "handoff_detail": handoff.detail,
                "handoff_message_id": message_id, "priority": handoff.priority,
                "queued_at": now, "consecutive_misses": 0, "updated_at": now}, raise_on_conflict=False)
            if handed_off:
                position = self._queue_position(session, conversation.id)
                drafts.append(MessageDraft(SenderKind.SYSTEM, handoff.notice_text(position),
                                           {"queue_position": position}, in_reply_to_id=message_id))
                # What the customer was told, so a later change is measured against it (bot/waiting).
                session.execute(update(Conversation).where(Conversation.id == conversation.id).values(
                    stated_position=position, wait_notified_at=now, announced_assignee_id=None,
                    message_offered_at=now if handoff.offers_message else None))
        elif drafts:
            # Only while the bot still owns it: an agent who took over while the bot was thinking
            # gets silence from that moment. The UPDATE holds the row until the replies are stored
            # (PostgreSQL: a takeover waits for this turn, or this turn sees it; SQLite has one writer).
            values: Dict[str, Any] = {"updated_at": now}
            if misses is not None:
                values["consecutive_misses"] = misses
            still_with_bot = connection.execute(_UPDATE_CONVERSATION_WITH_BOT,
                                                {"b_id": conversation.id, **values}).rowcount == 1
            if still_with_bot:
                record = replace(conversation, status=ConversationStatus.BOT, consecutive_misses=(
                    conversation.consecutive_misses if misses is None else misses))
            else:
                drafts = []
        elif misses is not None and misses != conversation.consecutive_misses:
            connection.execute(_UPDATE_CONVERSATION, {"b_id": conversation.id, "consecutive_misses": misses})
        rows = _insert_drafts(connection, conversation.id, conversation.channel, drafts, now)
        if record is None:
            record = conversation_record(session.get(Conversation, conversation.id))
        return TurnOutcome(record, [message_view(r) for r in rows], handed_off, position)

    async def announce_assignee(self, conversation_id: int, agent_id: int, transferred: MessageDraft,
                                joined: MessageDraft) -> Optional[MessageView]:
        """Tell the customer who has their conversation now, once per assignee; None when told already."""
        async with self.sessions() as session, session.begin():
            row = await session.get(Conversation, conversation_id, with_for_update=True)
            if row is None:
                raise NotFound(f"conversation {conversation_id}")
            if (row.status != ConversationStatus.ASSIGNED.value or row.assignee_id != agent_id
                    or row.announced_assignee_id == agent_id):
                return None
            draft = transferred if row.announced_assignee_id is not None else joined
            result = await session.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.assignee_id == agent_id,
                or_(Conversation.announced_assignee_id.is_(None), Conversation.announced_assignee_id != agent_id))
                .values(announced_assignee_id=agent_id))
            if result.rowcount != 1:
                return None
            rows = self._add(session, conversation_id, row.channel, [draft], utcnow())
            await session.flush()
            agents = await self._agents(session, {agent_id})
            return message_view(rows[0], agents.get(agent_id))

    def _add(self, session: AsyncSession, conversation_id: int, channel: str,
             drafts: Iterable[MessageDraft], now: datetime) -> List[Message]:
        rows = []
        for draft in drafts:
            row = Message(**_draft_values(conversation_id, channel, draft, now))
            session.add(row)
            rows.append(row)
        return rows

    async def unfinished_turns(self, older_than: datetime, limit: int = 100) -> List[int]:
        """Customer messages whose turn never finished (the process died mid-turn)."""
        async with self.sessions() as session:
            return list((await session.execute(select(Message.id).where(
                Message.turn_state == TURN_PENDING, Message.created_at < older_than)
                .order_by(Message.id).limit(limit))).scalars())

    # ---- messages people write ---------------------------------------------

    async def add_messages(self, conversation_id: int, drafts: Iterable[MessageDraft]) -> List[MessageView]:
        async with self.sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id}")
            now = utcnow()
            rows = self._add(session, conversation_id, conversation.channel, drafts, now)
            conversation.updated_at = now
            await session.flush()
            agent_ids = {r.agent_id for r in rows if r.agent_id}
            agents = await self._agents(session, agent_ids)
            return [message_view(r, agents.get(r.agent_id)) for r in rows]

    # ---- the state machine, applied atomically ------------------------------

    async def transition(self, conversation_id: int, transition: Transition,
                         values: Optional[Dict[str, Any]] = None,
                         notice: Optional[MessageDraft] = None) -> Tuple[ConversationRecord, List[MessageView]]:
        """Move a conversation along the state machine (and store its notice), or raise InvalidTransition.

        The status check and the change are one UPDATE … WHERE status IN (…), so two
        agents claiming at once cannot both win, on SQLite or PostgreSQL alike.
        """
        async with self.sessions() as session, session.begin():
            now = utcnow()
            await session.run_sync(self._apply_transition, conversation_id, transition,
                                   {"updated_at": now, **(values or {})})
            current = await session.get(Conversation, conversation_id)
            views: List[MessageView] = []
            if notice is not None:
                rows = self._add(session, conversation_id, current.channel, [notice], now)
                await session.flush()
                agents = await self._agents(session, {r.agent_id for r in rows if r.agent_id})
                views = [message_view(r, agents.get(r.agent_id)) for r in rows]
            return conversation_record(current), views

    def _apply_transition(self, session: Session, conversation_id: int, transition: Transition,
                          values: Dict[str, Any], raise_on_conflict: bool = True) -> bool:
        sources = [s.value for s in allowed_from(transition)]
        target = next_status(next(iter(allowed_from(transition))), transition)
        result = session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status.in_(sources))
            .values(status=target.value, **values)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            return True
        current = session.get(Conversation, conversation_id)
        if current is None:
            raise NotFound(f"conversation {conversation_id}")
        if raise_on_conflict:
            raise InvalidTransition(transition, ConversationStatus(current.status))
        return False

    # ---- reads -------------------------------------------------------------------

    async def get(self, conversation_id: int) -> ConversationRecord:
        async with self.sessions() as session:
            row = await session.get(Conversation, conversation_id)
            if row is None:
                raise NotFound(f"conversation {conversation_id}")
            return conversation_record(row)

    async def identity_of(self, conversation_id: int) -> IdentityView:
        async with self.sessions() as session:
            row = (await session.execute(select(ChannelIdentity).join(
                Conversation, Conversation.identity_id == ChannelIdentity.id).where(
                Conversation.id == conversation_id))).scalar_one_or_none()
            if row is None:
                raise NotFound(f"conversation {conversation_id}")
            return IdentityView(row.channel, row.external_id)

    async def queue_position(self, conversation_id: int) -> int:
        async with self.sessions() as session:
            return await session.run_sync(self._queue_position, conversation_id)

    def _queue_position(self, session: Session, conversation_id: int) -> int:
        me = session.get(Conversation, conversation_id)
        if me is None or me.status != ConversationStatus.QUEUED.value:
            return 0
        ahead = session.execute(select(func.count()).select_from(Conversation).where(
            Conversation.status == ConversationStatus.QUEUED.value,
            Conversation.id != me.id,
            # The queue's order: priority, then who waited longest, then who came first (ties).
            or_(Conversation.priority > me.priority,
                and_(Conversation.priority == me.priority,
                     or_(Conversation.queued_at < me.queued_at,
                         and_(Conversation.queued_at == me.queued_at, Conversation.id < me.id)))),
        )).scalar_one()
        return int(ahead) + 1

    async def summary(self, conversation_id: int) -> ConversationView:
        summaries = await self.summaries([conversation_id])
        if not summaries:
            raise NotFound(f"conversation {conversation_id}")
        return summaries[0]

    async def summaries(self, ids: Sequence[int]) -> List[ConversationView]:
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
            tags: Dict[int, List[str]] = {}
            for conversation_id, tag in (await session.execute(
                    select(ConversationTag.conversation_id, ConversationTag.tag)
                    .where(ConversationTag.conversation_id.in_(list(ids))).order_by(ConversationTag.tag))).all():
                tags.setdefault(conversation_id, []).append(tag)
        by_id = {c.id: conversation_view(c, cust, users.get(c.assignee_id), lasts.get(c.id), tags.get(c.id, []))
                 for c, cust in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def list_conversations(self, statuses: Sequence[str], limit: int = 100,
                                 assignee_id: Optional[int] = None,
                                 customer_id: Optional[int] = None,
                                 identity: Optional[Tuple[str, str]] = None) -> List[ConversationView]:
        query = select(Conversation.id).where(Conversation.status.in_(list(statuses)))
        if identity is not None:
            query = query.join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id).where(
                ChannelIdentity.channel == identity[0], ChannelIdentity.external_id == identity[1])
        if assignee_id is not None:
            query = query.where(Conversation.assignee_id == assignee_id)
        if customer_id is not None:
            query = query.where(Conversation.customer_id == customer_id)
        if list(statuses) == [ConversationStatus.QUEUED.value]:
            query = query.order_by(Conversation.priority.desc(), Conversation.queued_at.asc(), Conversation.id.asc())
        else:
            query = query.order_by(Conversation.updated_at.desc())
        async with self.sessions() as session:
            ids = (await session.execute(query.limit(limit))).scalars().all()
        return await self.summaries(ids)

    async def earlier_conversations(self, customer_id: int, except_id: int, limit: int = 20) -> List[ConversationView]:
        async with self.sessions() as session:
            ids = (await session.execute(select(Conversation.id).where(
                Conversation.customer_id == customer_id, Conversation.id != except_id)
                .order_by(Conversation.id.desc()).limit(limit))).scalars().all()
        return await self.summaries(ids)

    async def messages(self, conversation_id: int, include_notes: bool = True) -> List[MessageView]:
        query = select(Message).where(Message.conversation_id == conversation_id)
        if not include_notes:
            query = query.where(Message.sender != SenderKind.NOTE.value)
        return await self._views(query.order_by(Message.id))

    async def messages_after(self, after_id: int, limit: int = 1000) -> List[MessageView]:
        """Every message newer than a cursor, oldest first: what a reconnecting console missed."""
        return await self._views(select(Message).where(Message.id > after_id).order_by(Message.id).limit(limit))

    async def message(self, message_id: int) -> MessageView:
        views = await self._views(select(Message).where(Message.id == message_id))
        if not views:
            raise NotFound(f"message {message_id}")
        return views[0]

    async def history_for(self, channel: str, external_id: str) -> List[MessageView]:
        """What a customer sees again when they come back: their latest conversation, without notes."""
        conversation_id = await self.latest_conversation_for(channel, external_id)
        if conversation_id is None:
            return []
        return await self.messages(conversation_id, include_notes=False)

    async def _views(self, query) -> List[MessageView]:
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars().all()
            if not rows:
                return []
            agents = await self._agents(session, {r.agent_id for r in rows if r.agent_id})
            conv_ids = {r.conversation_id for r in rows}
            triggers = dict((await session.execute(select(
                Conversation.id, Conversation.handoff_message_id).where(Conversation.id.in_(conv_ids)))).all())
            deliveries = {m: _delivery(s, e, a, p) for m, s, e, a, p in (await session.execute(
                select(OutboxItem.message_id, OutboxItem.status, OutboxItem.last_error, OutboxItem.attempts,
                       OutboxItem.provider_status)
                .where(OutboxItem.message_id.in_([r.id for r in rows])))).all()}
        return [message_view(r, agents.get(r.agent_id), triggers.get(r.conversation_id), deliveries.get(r.id))
                for r in rows]

    async def _agents(self, session: AsyncSession, ids) -> Dict[int, Any]:
        ids = {i for i in ids if i}
        if not ids:
            return {}
        return {u.id: agent_brief(u) for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()}

    async def set_label(self, message_id: int, label: Optional[Dict[str, Any]]) -> MessageView:
        async with self.sessions() as session, session.begin():
            row = await session.get(Message, message_id)
            if row is None:
                raise NotFound(f"message {message_id}")
            if row.sender != SenderKind.CUSTOMER.value:
                raise ValueError("only customer messages carry an intent label")
            row.label = label
            # A label brings the message (back) into the trainers' inbox.
            row.review_reason = row.review_reason or "labelled"
            row.review_status = None
        return await self.message(message_id)

    async def review_items(self, limit: int = 200) -> List[MessageView]:
        """Customer messages an agent labelled, or that handed a conversation off."""
        async with self.sessions() as session:
            trigger_ids = select(Conversation.handoff_message_id).where(
                Conversation.handoff_message_id.isnot(None))
            ids = (await session.execute(select(Message.id).where(
                Message.sender == SenderKind.CUSTOMER.value,
                or_(Message.label.isnot(None), Message.id.in_(trigger_ids)),
            ).order_by(Message.id.desc()).limit(limit))).scalars().all()
        if not ids:
            return []
        return await self._views(select(Message).where(Message.id.in_(ids)).order_by(Message.id.desc()))

    async def latest_conversation_for(self, channel: str, external_id: str) -> Optional[int]:
        async with self.sessions() as session:
            return (await session.execute(
                select(Conversation.id).join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
                .order_by(Conversation.id.desc()).limit(1))).scalar_one_or_none()

    async def customer_of_tracker(self, tracker_key: str) -> Optional[CustomerProfile]:
        """The customer of the conversation the bot knows as `tracker_key` (`conversation-<uid>`)."""
        uid = tracker_key[len("conversation-"):] if tracker_key.startswith("conversation-") else None
        if not uid:
            return None
        async with self.sessions() as session:
            customer_id = (await session.execute(select(Conversation.customer_id).where(
                Conversation.uid == uid))).scalar_one_or_none()
        return None if customer_id is None else await self.customer_profile(customer_id)

    async def customer_profile(self, customer_id: int) -> CustomerProfile:
        async with self.sessions() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise NotFound(f"customer {customer_id}")
            identities = (await session.execute(select(ChannelIdentity).where(
                ChannelIdentity.customer_id == customer_id).order_by(ChannelIdentity.id))).scalars().all()
        return CustomerProfile(
            id=customer.id, name=customer.name, email=customer.email if customer.email_verified else None,
            email_verified=bool(customer.email_verified and customer.email), phone=customer.phone,
            shop_customer_id=customer.shop_customer_id, profile=customer.profile or {},
            claims=customer.claims or {}, created_at=customer.created_at,
            identities=[IdentityView(i.channel, i.external_id) for i in identities])

    async def assigned_counts(self) -> Dict[int, int]:
        """How many conversations each agent owns right now."""
        async with self.sessions() as session:
            rows = (await session.execute(select(Conversation.assignee_id, func.count()).where(
                Conversation.status == ConversationStatus.ASSIGNED.value,
                Conversation.assignee_id.isnot(None)).group_by(Conversation.assignee_id))).all()
        return {user_id: count for user_id, count in rows}

    async def last_customer_message_at(self, conversation_id: int) -> Optional[datetime]:
        """When the customer last wrote in this conversation (messaging windows count from it)."""
        async with self.sessions() as session:
            value = (await session.execute(select(func.max(Message.created_at)).where(
                Message.conversation_id == conversation_id,
                Message.sender == SenderKind.CUSTOMER.value))).scalar()
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=utcnow().tzinfo)   # SQLite hands back naive UTC
        return value

    async def thread_ids(self, conversation_id: int) -> List[str]:
        """The provider ids of a conversation's messages, oldest first: the customer's (as their channel
        numbered them) and ours (as the provider accepted them). E-mail threads replies with them."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(Message.sender, Message.channel_message_id, OutboxItem.provider_message_id)
                .outerjoin(OutboxItem, OutboxItem.message_id == Message.id)
                .where(Message.conversation_id == conversation_id).order_by(Message.id))).all()
        ids = [ours if sender != SenderKind.CUSTOMER.value else theirs for sender, theirs, ours in rows]
        return [i for i in ids if i]

    async def message_conversation(self, message_id: int) -> Optional[int]:
        async with self.sessions() as session:
            return (await session.execute(select(Message.conversation_id).where(
                Message.id == message_id))).scalar_one_or_none()

    async def customer_message(self, message_id: int) -> Optional["CustomerTurn"]:
        """A customer message with its conversation and sender (to finish an interrupted turn)."""
        async with self.sessions() as session:
            row = await session.get(Message, message_id)
            if row is None or row.sender != SenderKind.CUSTOMER.value:
                return None
            conversation = await session.get(Conversation, row.conversation_id)
            identity = await session.get(ChannelIdentity, conversation.identity_id)
            return CustomerTurn(conversation_record(conversation), message_view(row), identity.channel,
                                identity.external_id, pending=row.turn_state == TURN_PENDING)


@dataclass(frozen=True)
class CustomerTurn:
    conversation: ConversationRecord
    message: MessageView
    channel: str
    external_id: str
    pending: bool
