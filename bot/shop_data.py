"""The shop's data as the bot's custom actions see it: who the customer is, and their orders.

An action gets the `ShopData` of the conversation it runs in (`bot.custom_actions.current_shop()`),
built from what Baton knows about the customer (their verified identity, in its database) and the
same context provider the agent console reads (the built-in demo CRM, or `BATON_CRM_URL`).

Never disclose one customer's order to another: a customer the shop vouched for (a signed
`data-customer-id`, an authenticated backend, a verified e-mail) sees their own orders; anyone
else sees an order only by naming it together with the e-mail address it was placed with, and a
wrong pair tells nothing, not even whether the order exists (the lookup is by e-mail; the number
is only compared). A CRM that fails or is slow raises `CrmUnavailable`: the turn is handed to a
person (`bot_error`), never answered with a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol


class CrmUnavailable(Exception):
    """The shop's CRM did not answer usefully (down, slow, an error, not JSON)."""


class OrderSource(Protocol):
    """What the context providers (agent_console/context_providers.py) offer the bot."""

    async def orders(self, shop_customer_id: Optional[str], email: Optional[str]) -> List[Dict[str, Any]]:
        """Orders of the customer with this shop id or this e-mail; raises CrmUnavailable."""


def _when(value: Any) -> Optional[datetime]:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _text(value: Any) -> Optional[str]:
    return str(value).strip() or None if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def same_order_number(a: Optional[str], b: Optional[str]) -> bool:
    """Order numbers as customers type them: "#12345" and "12345", "a12345" and "A12345" match."""
    def clean(n: Optional[str]) -> str:
        return (n or "").strip().lstrip("#").strip().upper()

    return bool(clean(a)) and clean(a) == clean(b)


@dataclass(frozen=True)
class Order:
    """One order as the CRM describes it (the HTTP CRM's JSON, or the demo CRM's rows)."""

    number: str
    status: str
    items: List[Dict[str, Any]] = field(default_factory=list)
    placed_at: Optional[datetime] = None
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    tracking_url: Optional[str] = None
    shipped_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    estimated_delivery: Optional[datetime] = None

    @classmethod
    def from_json(cls, raw: Dict[str, Any]) -> Optional["Order"]:
        number = _text(raw.get("number"))
        if number is None:
            return None
        items = [i for i in raw.get("items") or [] if isinstance(i, dict)] if isinstance(raw.get("items"), list) else []
        return cls(number=number, status=(_text(raw.get("status")) or "unknown").lower(), items=items,
                   placed_at=_when(raw.get("placed_at")), carrier=_text(raw.get("carrier")),
                   tracking_number=_text(raw.get("tracking_number")), tracking_url=_text(raw.get("tracking_url")),
                   shipped_at=_when(raw.get("shipped_at")), delivered_at=_when(raw.get("delivered_at")),
                   estimated_delivery=_when(raw.get("estimated_delivery")))

    def item_names(self) -> str:
        names = []
        for item in self.items:
            name = _text(item.get("name")) or _text(item.get("sku"))
            if name:
                qty = item.get("qty")
                names.append(f"{name} ×{qty}" if isinstance(qty, int) and qty > 1 else name)
        return ", ".join(names)


@dataclass(frozen=True)
class Identity:
    """What the shop vouched for about the customer; claims are not in here."""

    verified: bool
    shop_customer_id: Optional[str] = None
    email: Optional[str] = None   # only a verified one

    @classmethod
    def anonymous(cls) -> "Identity":
        return cls(verified=False)


def _orders(raw: List[Dict[str, Any]]) -> List[Order]:
    orders = [o for o in (Order.from_json(r) for r in raw) if o is not None]
    # Most recent first, whatever order the CRM answered in.
    return sorted(orders, key=lambda o: o.placed_at or datetime.min.replace(tzinfo=timezone.utc), reverse=True)


class ShopData:
    """One conversation's view of the shop: its customer's identity and the orders they may see."""

    def __init__(self, identity: Callable[[], Awaitable[Identity]], source: OrderSource) -> None:
        self._load_identity = identity
        self._identity: Optional[Identity] = None
        self.source = source

    async def identity(self) -> Identity:
        if self._identity is None:
            self._identity = await self._load_identity()
        return self._identity

    async def my_orders(self) -> List[Order]:
        """A verified customer's own orders, most recent first ([] for anyone else)."""
        who = await self.identity()
        if not who.verified:
            return []
        return _orders(await self.source.orders(who.shop_customer_id, who.email))

    async def order_owned_by(self, number: str, email: str) -> Optional[Order]:
        """The order numbered `number` if it was placed with `email`; None otherwise (which it was is not said)."""
        email = (email or "").strip().lower()
        if not number or "@" not in email:
            return None
        return next((o for o in _orders(await self.source.orders(None, email))
                     if same_order_number(o.number, number)), None)
