"""Rows to typed views: the one place that knows how a table row becomes what callers see."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from bot.domain import ConversationStatus, Role, SenderKind
from bot.store.tables import Conversation, Customer, Message, User
from bot.views import (
    AgentBrief, ConversationRecord, ConversationView, CustomerBrief, LastMessage, MessageView, UserView,
)


def user_view(row: User) -> UserView:
    return UserView(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
                    capacity=row.capacity, active=bool(row.active))


def agent_brief(row: Optional[User]) -> Optional[AgentBrief]:
    if row is None:
        return None
    return AgentBrief(row.id, row.username, row.display_name)


def message_view(row: Message, agent: Optional[AgentBrief] = None, handoff_message_id: Optional[int] = None,
                 delivery: Optional[Dict] = None) -> MessageView:
    return MessageView(
        id=row.id, conversation_id=row.conversation_id, sender=SenderKind(row.sender), text=row.text or "",
        created_at=row.created_at, channel=row.channel, payload=row.payload, nlu=row.nlu, label=row.label,
        agent=agent, in_reply_to_id=row.in_reply_to_id,
        is_handoff_trigger=handoff_message_id is not None and row.id == handoff_message_id,
        delivery=delivery)


def shown_text(row: Message) -> str:
    """What a person reads for a message: a tapped button's title rather than its payload."""
    return ((row.payload or {}).get("display_text") if row.sender == SenderKind.CUSTOMER.value else None) \
        or row.text or ""


def conversation_record(row: Conversation) -> ConversationRecord:
    return ConversationRecord(id=row.id, uid=row.uid, status=ConversationStatus(row.status), channel=row.channel,
                              customer_id=row.customer_id, identity_id=row.identity_id,
                              assignee_id=row.assignee_id, consecutive_misses=row.consecutive_misses or 0,
                              handoff_message_id=row.handoff_message_id)


def customer_brief(row: Customer) -> CustomerBrief:
    claims = row.claims or {}
    return CustomerBrief(id=row.id, name=row.name or claims.get("name"),
                         email=row.email if row.email_verified else claims.get("email") or row.email,
                         email_verified=bool(row.email_verified and row.email))


def conversation_view(row: Conversation, customer: Customer, assignee: Optional[User],
                      last: Optional[Message], tags: Sequence[str] = ()) -> ConversationView:
    return ConversationView(
        id=row.id, status=ConversationStatus(row.status), channel=row.channel,
        customer=customer_brief(customer), assignee=agent_brief(assignee),
        handoff_reason=row.handoff_reason, handoff_detail=row.handoff_detail,
        handoff_message_id=row.handoff_message_id, priority=row.priority, queued_at=row.queued_at,
        last_message=None if last is None else LastMessage(last.id, shown_text(last), SenderKind(last.sender),
                                                           last.created_at),
        created_at=row.created_at, updated_at=row.updated_at, resolved_at=row.resolved_at,
        metadata=row.conversation_metadata or {}, stated_position=row.stated_position,
        contact_email=row.contact_email, left_message_at=row.left_message_at, tags=list(tags))
