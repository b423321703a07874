"""Rows to the JSON shapes of docs/api.md."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from bot.store.tables import Conversation, Customer, Message, User


def iso(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def user_brief(user: Optional[User]) -> Optional[Dict[str, Any]]:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def user_full(user: User) -> Dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role, "capacity": user.capacity, "active": user.active}


def customer_brief(customer: Customer) -> Dict[str, Any]:
    return {"id": customer.id, "name": customer.name or f"Visitor #{customer.id}",
            "email": customer.email}


def message(row: Message, agent: Optional[User] = None,
            handoff_message_id: Optional[int] = None) -> Dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "sender": row.sender,
        "agent": user_brief(agent),
        "text": row.text,
        "payload": row.payload,
        "nlu": row.nlu,
        "label": row.label,
        "is_handoff_trigger": handoff_message_id is not None and row.id == handoff_message_id,
        "channel": row.channel,
        "in_reply_to_id": row.in_reply_to_id,
        "created_at": iso(row.created_at),
    }


def conversation(row: Conversation, customer: Customer, assignee: Optional[User],
                 last: Optional[Message]) -> Dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "channel": row.channel,
        "customer": customer_brief(customer),
        "assignee": user_brief(assignee),
        "handoff_reason": row.handoff_reason,
        "handoff_detail": row.handoff_detail,
        "handoff_message_id": row.handoff_message_id,
        "priority": row.priority,
        "queued_at": iso(row.queued_at),
        "last_message": None if last is None else {
            "id": last.id, "text": last.text, "sender": last.sender, "created_at": iso(last.created_at)},
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "resolved_at": iso(row.resolved_at),
        "metadata": row.conversation_metadata or {},
    }
