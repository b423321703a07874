"""Where the customer panel's CRM data comes from.

A provider answers `{orders: [...], tickets: [...]}` for a customer. The built-in
one reads Baton's own tables (seeded with demo data); the HTTP one asks a
configured URL, so a real CRM plugs in with configuration, not code.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Protocol

from aiohttp import ClientError, ClientSession, ClientTimeout
from sqlalchemy import or_, select

from bot.store.repository import ConversationStore
from bot.store.serialize import iso
from bot.store.tables import Customer, Order, Ticket

log = logging.getLogger(__name__)


class ContextProvider(Protocol):
    async def crm(self, customer: Dict[str, Any]) -> Dict[str, Any]:
        """Orders and tickets for a customer profile ({id, name, email, profile})."""


def _order(row: Order) -> Dict[str, Any]:
    return {"number": row.number, "status": row.status, "total": round(row.total_cents / 100, 2),
            "currency": row.currency, "items": row.items or [], "placed_at": iso(row.placed_at)}


class DatabaseContextProvider:
    """Orders and tickets kept in Baton's own database, matched by customer or e-mail."""

    def __init__(self, store: ConversationStore) -> None:
        self.sessions = store.sessions

    async def crm(self, customer: Dict[str, Any]) -> Dict[str, Any]:
        async with self.sessions() as session:
            owners = select(Customer.id).where(or_(
                Customer.id == customer["id"],
                Customer.email == customer["email"] if customer.get("email") else False))
            orders = (await session.execute(select(Order).where(Order.customer_id.in_(owners))
                                            .order_by(Order.placed_at.desc()))).scalars().all()
            tickets = (await session.execute(select(Ticket).where(Ticket.customer_id.in_(owners))
                                             .order_by(Ticket.created_at.desc()))).scalars().all()
        return {"source": "baton", "orders": [_order(o) for o in orders],
                "tickets": [{"id": t.id, "subject": t.subject, "status": t.status,
                             "created_at": iso(t.created_at)} for t in tickets]}


class HttpContextProvider:
    """GET {url}?customer_id=…&email=… answering {"orders": [...], "tickets": [...]}."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    async def crm(self, customer: Dict[str, Any]) -> Dict[str, Any]:
        params = {"customer_id": str(customer["id"])}
        if customer.get("email"):
            params["email"] = customer["email"]
        shop_id = (customer.get("profile") or {}).get("shop_customer_id")
        if shop_id:
            params["shop_customer_id"] = shop_id
        try:
            async with ClientSession(timeout=ClientTimeout(total=self.timeout)) as http:
                async with http.get(self.url, params=params) as response:
                    if response.status != 200:
                        return self._unavailable(f"CRM answered HTTP {response.status}")
                    body = await response.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as exc:
            return self._unavailable(f"CRM unreachable: {type(exc).__name__}")
        if not isinstance(body, dict):
            return self._unavailable("CRM answered something other than a JSON object")
        return {"source": self.url, "orders": _list(body.get("orders")), "tickets": _list(body.get("tickets"))}

    def _unavailable(self, why: str) -> Dict[str, Any]:
        log.warning(why)
        return {"source": self.url, "orders": [], "tickets": [], "error": why}


def _list(value: Any) -> List[Dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
