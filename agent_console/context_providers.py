"""Where the customer panel's CRM data comes from.

A provider answers `{orders: [...], tickets: [...]}` for a customer whose identity is
verified (a shop id the shop signed, or an e-mail its backend vouched for). What a customer
merely claims is never used for a lookup: an anonymous chat that types someone's e-mail must
not see that person's orders. The built-in provider reads Baton's own tables (seeded with demo
data); the HTTP one asks a configured URL, so a real CRM plugs in with configuration, not code.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Protocol

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.store.catalogue import CatalogueStore
from bot.views import CustomerProfile

log = logging.getLogger(__name__)

NOT_VERIFIED = "the customer's identity is not verified, so no CRM data is looked up"


class ContextProvider(Protocol):
    async def crm(self, customer: CustomerProfile) -> Dict[str, Any]:
        """Orders and tickets of a verified customer."""


def _skipped() -> Dict[str, Any]:
    return {"orders": [], "tickets": [], "skipped": NOT_VERIFIED}


class DatabaseContextProvider:
    """Orders and tickets kept in Baton's own database, matched by verified shop id or e-mail."""

    def __init__(self, catalogue: CatalogueStore) -> None:
        self.catalogue = catalogue

    async def crm(self, customer: CustomerProfile) -> Dict[str, Any]:
        if not customer.verified:
            return {"source": "baton", **_skipped()}
        found = await self.catalogue.crm_for(customer.shop_customer_id,
                                             customer.email if customer.email_verified else None)
        return {"source": "baton", **found}


class HttpContextProvider:
    """GET {url}?shop_customer_id=…&email=… answering {"orders": [...], "tickets": [...]}."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    async def crm(self, customer: CustomerProfile) -> Dict[str, Any]:
        if not customer.verified:
            return {"source": self.url, **_skipped()}
        params = {"customer_id": str(customer.id)}
        if customer.email_verified and customer.email:
            params["email"] = customer.email
        if customer.shop_customer_id:
            params["shop_customer_id"] = customer.shop_customer_id
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
