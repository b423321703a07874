"""Where the customer panel's CRM data comes from.

A provider answers `{orders: [...], tickets: [...]}` for a customer whose identity is
verified (a shop id the shop signed, or an e-mail its backend vouched for). What a customer
merely claims is never used for a lookup: an anonymous chat that types someone's e-mail must
not see that person's orders. The built-in provider reads Baton's own tables (seeded with demo
data); the HTTP one asks a configured URL, so a real CRM plugs in with configuration, not code.

The bot's custom actions read orders through the same providers (`orders`, bot/shop_data.py),
which raise `CrmUnavailable` instead of answering empty: a bot must not say "no orders" when the
CRM is down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Protocol

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.shop_data import CrmUnavailable
from bot.store.catalogue import CatalogueStore
from bot.views import CustomerProfile

log = logging.getLogger(__name__)

NOT_VERIFIED = "the customer's identity is not verified, so no CRM data is looked up"


class ContextProvider(Protocol):
    async def crm(self, customer: CustomerProfile) -> Dict[str, Any]:
        """Orders and tickets of a verified customer."""

    async def orders(self, shop_customer_id: Optional[str], email: Optional[str]) -> List[Dict[str, Any]]:
        """Orders of the customer with this shop id or e-mail, for the bot; raises CrmUnavailable."""


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

    async def orders(self, shop_customer_id: Optional[str], email: Optional[str]) -> List[Dict[str, Any]]:
        try:
            return (await self.catalogue.crm_for(shop_customer_id, email))["orders"]
        except Exception as exc:   # the database is this CRM: its failure is the CRM's
            raise CrmUnavailable(f"the demo CRM failed: {type(exc).__name__}") from exc


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
            body = await self._get(params)
        except CrmUnavailable as exc:
            return self._unavailable(str(exc))
        return {"source": self.url, "orders": _list(body.get("orders")), "tickets": _list(body.get("tickets"))}

    async def orders(self, shop_customer_id: Optional[str], email: Optional[str]) -> List[Dict[str, Any]]:
        params = {k: v for k, v in (("shop_customer_id", shop_customer_id), ("email", email)) if v}
        if not params:
            return []
        body = await self._get(params)
        return _list(body.get("orders"))

    async def _get(self, params: Dict[str, str]) -> Dict[str, Any]:
        try:
            async with ClientSession(timeout=ClientTimeout(total=self.timeout)) as http:
                async with http.get(self.url, params=params) as response:
                    if response.status != 200:
                        raise CrmUnavailable(f"CRM answered HTTP {response.status}")
                    body = await response.json(content_type=None)
        except (ClientError, asyncio.TimeoutError, TimeoutError, ValueError) as exc:
            raise CrmUnavailable(f"CRM unreachable: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise CrmUnavailable("CRM answered something other than a JSON object")
        return body

    def _unavailable(self, why: str) -> Dict[str, Any]:
        log.warning(why)
        return {"source": self.url, "orders": [], "tickets": [], "error": why}


def _list(value: Any) -> List[Dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
