"""The customer panel: who the customer is (verified or only claimed), CRM data, earlier conversations,
and what the bot remembers of this conversation."""

from __future__ import annotations

import logging
from typing import Any, Dict

from agent_console.context_providers import ContextProvider
from bot.engine import BotFailure
from bot.store.conversations import ConversationStore
from bot.views import CustomerProfile, all_json, iso

log = logging.getLogger(__name__)


def _mask(channel: str, external_id: str) -> str:
    # A web chat session id is a bearer secret: agents see enough to tell sessions apart, no more.
    return external_id[:6] + "…" if channel == "webchat" else external_id


def profile_json(customer: CustomerProfile, metadata: Dict[str, Any]) -> Dict[str, Any]:
    claims = customer.claims or {}
    return {
        "id": customer.id,
        "name": customer.name or claims.get("name") or f"Visitor #{customer.id}",
        "name_verified": bool(customer.name) and customer.verified,
        "email": customer.email or claims.get("email"),   # a claimed one is shown marked unverified
        "email_verified": customer.email_verified,
        "phone": customer.phone,
        "shop_customer_id": customer.shop_customer_id,
        "verified": customer.verified,
        "claims": claims,   # what the customer said about themselves, unverified
        "profile": customer.profile or {},
        "created_at": iso(customer.created_at),
        "identities": [{"channel": i.channel, "external_id": _mask(i.channel, i.external_id)}
                       for i in customer.identities],
        "metadata": metadata,
    }


class CustomerContext:
    def __init__(self, conversations: ConversationStore, provider: ContextProvider, bot: Any) -> None:
        self.conversations = conversations
        self.provider = provider
        self.bot = bot

    async def for_conversation(self, conversation_id: int) -> Dict[str, Any]:
        conversation = await self.conversations.get(conversation_id)
        summary = await self.conversations.summary(conversation_id)
        customer = await self.conversations.customer_profile(conversation.customer_id)
        try:
            memory = await self.bot.memory(conversation.tracker_key)
        except BotFailure as exc:
            memory = {"error": str(exc)}
        return {"customer": profile_json(customer, summary.metadata),
                "crm": await self.provider.crm(customer),
                "earlier_conversations": all_json(await self.conversations.earlier_conversations(
                    customer.id, conversation_id)),
                "bot_memory": memory}
