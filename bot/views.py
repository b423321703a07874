"""Typed read views the store hands out: what a message, a conversation or a person looks like.

The store returns these, events carry them, and JSON is made from them only at the edges
(HTTP responses, Socket.IO payloads) with `as_json()`, so every edge shows the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from bot.domain import ConversationStatus, Role, SenderKind


def iso(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    capacity: int
    active: bool

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def brief_json(self) -> Dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name}

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "role": self.role.value, "capacity": self.capacity, "active": self.active}


@dataclass(frozen=True)
class AgentBrief:
    id: int
    username: str
    display_name: str

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name}


@dataclass(frozen=True)
class MessageView:
    id: int
    conversation_id: int
    sender: SenderKind
    text: str
    created_at: Optional[datetime]
    channel: str
    payload: Optional[Dict[str, Any]] = None
    nlu: Optional[Dict[str, Any]] = None
    label: Optional[Dict[str, Any]] = None
    agent: Optional[AgentBrief] = None
    in_reply_to_id: Optional[int] = None
    is_handoff_trigger: bool = False
    delivery: Optional[Dict[str, Any]] = None   # outbound status where the channel reports one

    @property
    def customer_visible(self) -> bool:
        return self.sender in (SenderKind.BOT, SenderKind.AGENT, SenderKind.SYSTEM)

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "sender": self.sender.value,
            "agent": self.agent.as_json() if self.agent else None,
            "text": self.text,
            "payload": self.payload,
            "nlu": self.nlu,
            "label": self.label,
            "is_handoff_trigger": self.is_handoff_trigger,
            "channel": self.channel,
            "in_reply_to_id": self.in_reply_to_id,
            "created_at": iso(self.created_at),
            "delivery": self.delivery,
        }


@dataclass(frozen=True)
class CustomerBrief:
    id: int
    name: Optional[str]
    email: Optional[str]           # verified e-mail, or the claimed one (see email_verified)
    email_verified: bool = False

    @property
    def display_name(self) -> str:
        return self.name or f"Visitor #{self.id}"

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "name": self.display_name, "email": self.email,
                "email_verified": self.email_verified}


@dataclass(frozen=True)
class ConversationRecord:
    """A conversation's own row: what the customer's turn and the agent actions work from."""

    id: int
    uid: str
    status: ConversationStatus
    channel: str
    customer_id: int
    identity_id: int
    assignee_id: Optional[int]
    consecutive_misses: int
    handoff_message_id: Optional[int] = None

    @property
    def tracker_key(self) -> str:
        """The sender id the bot's tracker knows this conversation by (unique across databases)."""
        return f"conversation-{self.uid}"


@dataclass(frozen=True)
class LastMessage:
    id: int
    text: str
    sender: SenderKind
    created_at: Optional[datetime]

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "text": self.text, "sender": self.sender.value,
                "created_at": iso(self.created_at)}


@dataclass(frozen=True)
class ConversationView:
    """A conversation as the console lists it."""

    id: int
    status: ConversationStatus
    channel: str
    customer: CustomerBrief
    assignee: Optional[AgentBrief]
    handoff_reason: Optional[str]
    handoff_detail: Optional[str]
    handoff_message_id: Optional[int]
    priority: int
    queued_at: Optional[datetime]
    last_message: Optional[LastMessage]
    created_at: Optional[datetime]
    updated_at: Optional[datetime]
    resolved_at: Optional[datetime]
    metadata: Dict[str, Any] = field(default_factory=dict)
    # The customer's wait (bot/waiting): the place they were last told, the e-mail they left.
    stated_position: Optional[int] = None
    contact_email: Optional[str] = None
    left_message_at: Optional[datetime] = None
    tags: List[str] = field(default_factory=list)

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "channel": self.channel,
            "customer": self.customer.as_json(),
            "assignee": self.assignee.as_json() if self.assignee else None,
            "handoff_reason": self.handoff_reason,
            "handoff_detail": self.handoff_detail,
            "handoff_message_id": self.handoff_message_id,
            "priority": self.priority,
            "queued_at": iso(self.queued_at),
            "last_message": self.last_message.as_json() if self.last_message else None,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "resolved_at": iso(self.resolved_at),
            "metadata": self.metadata,
            "stated_position": self.stated_position,
            "contact_email": self.contact_email,
            "left_message_at": iso(self.left_message_at),
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class IdentityView:
    channel: str
    external_id: str


@dataclass(frozen=True)
class CustomerProfile:
    """The customer panel's subject: who they are, what is verified, what they only claimed."""

    id: int
    name: Optional[str]
    email: Optional[str]
    email_verified: bool
    phone: Optional[str]
    shop_customer_id: Optional[str]   # only ever a verified id
    profile: Dict[str, Any]
    claims: Dict[str, Any]
    created_at: Optional[datetime]
    identities: List[IdentityView] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when something a shop vouched for identifies this customer (CRM lookups allowed)."""
        return bool(self.shop_customer_id) or (self.email_verified and bool(self.email))


def all_json(views) -> List[Dict[str, Any]]:
    return [v.as_json() for v in views]
