"""The customer panel: profile, channel identities, earlier conversations and CRM data."""

from __future__ import annotations

from typing import Any, Dict

from sqlalchemy import select

from agent_console.context_providers import ContextProvider
from bot.store.repository import ConversationStore
from bot.store.serialize import iso
from bot.store.tables import ChannelIdentity, Conversation, Customer


async def customer_context(store: ConversationStore, provider: ContextProvider,
                           conversation_id: int) -> Dict[str, Any]:
    conversation = await store.get(conversation_id)
    async with store.sessions() as session:
        customer = await session.get(Customer, conversation.customer_id)
        identities = (await session.execute(select(ChannelIdentity).where(
            ChannelIdentity.customer_id == customer.id))).scalars().all()
        earlier_ids = (await session.execute(select(Conversation.id).where(
            Conversation.customer_id == customer.id, Conversation.id != conversation_id)
            .order_by(Conversation.id.desc()).limit(20))).scalars().all()
    profile = {"id": customer.id, "name": customer.name or f"Visitor #{customer.id}", "email": customer.email,
               "phone": customer.phone, "profile": customer.profile or {}, "created_at": iso(customer.created_at),
               "identities": [{"channel": i.channel, "external_id": _mask(i.channel, i.external_id)}
                              for i in identities],
               "metadata": conversation.conversation_metadata or {}}
    return {"customer": profile, "crm": await provider.crm(profile),
            "earlier_conversations": await store.summaries(earlier_ids)}


def _mask(channel: str, external_id: str) -> str:
    # A web chat session id is a bearer secret: agents see enough to tell sessions apart, no more.
    return external_id[:6] + "…" if channel == "webchat" else external_id
