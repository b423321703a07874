"""SQLAlchemy tables. Alembic migrations in bot/store/migrations mirror these."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)
    name = Column(String(200))
    email = Column(String(320), index=True)
    # Only ever a number a provider proved (a signed Twilio webhook): it links the customer's
    # identities across channels. A number a customer merely typed stays in `claims`.
    phone = Column(String(40), index=True)
    profile = Column(JSON, nullable=False, default=dict)
    # Identity a shop vouched for (a signed id from its backend, or an authenticated REST caller):
    # only these are used to look up CRM data. What a customer says about themselves stays in `claims`.
    shop_customer_id = Column(String(200), index=True)
    email_verified = Column(Boolean, nullable=False, default=False)
    claims = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ChannelIdentity(Base):
    """Who a customer is in one channel's terms (a web session, a phone number)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),)
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class User(Base):
    """A person who works in the console: agent, trainer or admin."""

    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    display_name = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False)
    password_hash = Column(String(200), nullable=False)
    capacity = Column(Integer, nullable=False, default=5)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuthSession(Base):
    __tablename__ = "auth_sessions"
    id = Column(String(64), primary_key=True)  # sha256 of the cookie token, never the token
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)


def new_uid() -> str:
    return uuid.uuid4().hex


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_status_priority", "status", "priority", "queued_at"),)
    id = Column(Integer, primary_key=True)
    # The bot's tracker key: unique across databases, unlike the integer id.
    uid = Column(String(32), nullable=False, unique=True, default=new_uid)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    identity_id = Column(Integer, ForeignKey("channel_identities.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="bot")
    assignee_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    handoff_reason = Column(String(40))
    handoff_detail = Column(Text)
    handoff_message_id = Column(Integer)
    priority = Column(Integer, nullable=False, default=0)
    consecutive_misses = Column(Integer, nullable=False, default=0)
    conversation_metadata = Column("metadata", JSON, nullable=False, default=dict)
    queued_at = Column(DateTime(timezone=True))
    resolved_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The customer's wait (bot/waiting): the queue position they were last told (never made worse
    # without telling them), when a non-live channel last got a waiting notice, when they were
    # offered to leave a message, and the e-mail address they left for an answer.
    stated_position = Column(Integer)
    wait_notified_at = Column(DateTime(timezone=True))
    message_offered_at = Column(DateTime(timezone=True))
    contact_email = Column(String(320))
    left_message_at = Column(DateTime(timezone=True))
    # The assignee the customer has been told about: a transfer is announced when its agent opens it.
    announced_assignee_id = Column(Integer)


class ReportingEvent(Base):
    """A fact kept for reports and wait estimates (handed off, waited, first reply, resolved).

    Written by a listener, append-only: conversations are reused when a customer comes back,
    so their own row cannot tell the history.
    """

    __tablename__ = "reporting_events"
    __table_args__ = (Index("ix_reporting_events_name_created", "name", "created_at"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    agent_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    channel = Column(String(32))
    reason = Column(String(40))
    value = Column(Float)      # seconds for durations, a position or a score
    detail = Column(JSON(none_as_null=True))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A delivery the provider (or client) repeats carries the same id: stored once. Scoped to
        # the sender, because integrations that number messages per customer reuse ids across senders.
        UniqueConstraint("identity_id", "channel_message_id", name="uq_message_identity_channel_id"),
        Index("ix_messages_review", "review_reason", "review_status"),
    )
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True)
    sender = Column(String(16), nullable=False)
    agent_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    text = Column(Text, nullable=False, default="")
    # none_as_null: "no label" must be SQL NULL so IS NULL queries see it
    payload = Column(JSON(none_as_null=True))
    nlu = Column(JSON(none_as_null=True))
    label = Column(JSON(none_as_null=True))
    channel = Column(String(32), nullable=False)
    channel_message_id = Column(String(200))
    identity_id = Column(Integer, ForeignKey("channel_identities.id", ondelete="CASCADE"))  # customer messages
    # A customer message's turn: "pending" until the bot answered or handed off, then "done". A
    # re-delivered message whose turn never finished (a crash) is finished, not answered with silence.
    turn_state = Column(String(8))
    # The trainers' review inbox: why the bot was unsure (set when the turn ends, or by a label),
    # and what a trainer made of it (confirmed, relabelled, out_of_scope, dismissed).
    review_reason = Column(String(32))
    review_status = Column(String(16))
    review = Column(JSON(none_as_null=True))
    in_reply_to_id = Column(Integer, ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class CannedResponse(Base):
    __tablename__ = "canned_responses"
    id = Column(Integer, primary_key=True)
    shortcut = Column(String(60), nullable=False, unique=True)
    text = Column(Text, nullable=False)


class Order(Base):
    """Demo CRM data for the built-in context provider."""

    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    number = Column(String(40), nullable=False, unique=True)
    status = Column(String(40), nullable=False)
    total_cents = Column(Integer, nullable=False, default=0)
    currency = Column(String(3), nullable=False, default="EUR")
    items = Column(JSON, nullable=False, default=list)
    placed_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Fulfilment, as a shop's CRM reports it: what the bot answers order questions from.
    carrier = Column(String(60))
    tracking_number = Column(String(80))
    tracking_url = Column(Text)
    shipped_at = Column(DateTime(timezone=True))
    delivered_at = Column(DateTime(timezone=True))
    estimated_delivery = Column(DateTime(timezone=True))


class Ticket(Base):
    __tablename__ = "tickets"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    subject = Column(String(300), nullable=False)
    status = Column(String(40), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class OutboxItem(Base):
    """A message waiting to go out on a customer's channel; retried until sent or given up."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(200), nullable=False)
    status = Column(String(12), nullable=False, default="pending")  # pending | sending | sent | failed
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    lease_until = Column(DateTime(timezone=True))
    last_error = Column(Text)
    provider_message_id = Column(String(200))
    provider_status = Column(String(40))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class TrackerEvent(Base):
    """The bot's dialogue state (Rasa tracker events), so a restart forgets no slot and no pause."""

    __tablename__ = "tracker_events"
    __table_args__ = (UniqueConstraint("conversation_key", "seq", name="uq_tracker_event_seq"),)
    id = Column(Integer, primary_key=True)
    conversation_key = Column(String(80), nullable=False)
    seq = Column(Integer, nullable=False)
    data = Column(Text, nullable=False)


class TrainedModel(Base):
    """A model version: its file, who trained it on which data, and how it evaluated."""

    __tablename__ = "models"
    id = Column(Integer, primary_key=True)
    path = Column(Text, nullable=False)
    config = Column(String(80), nullable=False)
    data_version = Column(String(64))
    status = Column(String(16), nullable=False, default="training")  # training | ready | failed | cancelled
    active = Column(Boolean, nullable=False, default=False)
    created_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at = Column(DateTime(timezone=True))
    activated_at = Column(DateTime(timezone=True))
    error = Column(Text)
    evaluation = Column(JSON(none_as_null=True))
    note = Column(Text)


class SettingOverride(Base):
    """A setting changed in the console: it overrides the config file and environment, live."""

    __tablename__ = "setting_overrides"
    key = Column(String(80), primary_key=True)
    value = Column(JSON, nullable=False)
    updated_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuditEntry(Base):
    """Who changed what, when (settings, models, users, training data)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    action = Column(String(60), nullable=False)
    detail = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class Rating(Base):
    """A customer's answer to the one satisfaction question asked when a conversation was resolved."""

    __tablename__ = "ratings"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    # The system message that asked: one answer per question, however often the widget sends it.
    request_message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False,
                                unique=True)
    agent_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    score = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class ConversationTag(Base):
    """A label on a conversation, set by an agent or by a rule (intent → tag); a search filter."""

    __tablename__ = "conversation_tags"
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    tag = Column(String(40), primary_key=True, index=True)
    source = Column(String(8), nullable=False, default="agent")   # agent | rule
    created_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
