"""The shop's own data Baton keeps: canned responses, and the built-in demo CRM (orders, tickets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.tables import CannedResponse, Customer, Order, Ticket, utcnow
from bot.views import iso


class DuplicateShortcut(Exception):
    pass


@dataclass(frozen=True)
class Canned:
    id: int
    shortcut: str
    text: str

    def as_json(self) -> Dict[str, Any]:
        return {"id": self.id, "shortcut": self.shortcut, "text": self.text}


@dataclass(frozen=True)
class DemoOrder:
    """A demo order; dates are days before (or, for the delivery estimate, after) seeding."""

    number: str
    status: str
    cents: int
    items: List[Dict[str, Any]]
    days_ago: int
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    shipped_days_ago: Optional[int] = None
    delivered_days_ago: Optional[int] = None
    delivery_in_days: Optional[int] = None


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    shop_customer_id: str
    orders: Sequence[DemoOrder] = ()
    tickets: Sequence[Tuple[str, str]] = ()
    profile: Dict[str, Any] = field(default_factory=dict)


def _order(row: Order) -> Dict[str, Any]:
    """An order as the HTTP CRM contract describes it (docs/api.md), fulfilment included."""
    return {"number": row.number, "status": row.status, "total": round(row.total_cents / 100, 2),
            "currency": row.currency, "items": row.items or [], "placed_at": iso(row.placed_at),
            "carrier": row.carrier, "tracking_number": row.tracking_number, "tracking_url": row.tracking_url,
            "shipped_at": iso(row.shipped_at), "delivered_at": iso(row.delivered_at),
            "estimated_delivery": iso(row.estimated_delivery)}


def _days(days: Optional[int], sign: int = -1):
    return None if days is None else utcnow() + sign * timedelta(days=days)


class CatalogueStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    # ---- canned responses -------------------------------------------------------

    async def canned(self) -> List[Canned]:
        async with self.sessions() as session:
            rows = (await session.execute(select(CannedResponse).order_by(CannedResponse.shortcut))).scalars()
            return [Canned(r.id, r.shortcut, r.text) for r in rows]

    async def add_canned(self, shortcut: str, text: str) -> Canned:
        row = CannedResponse(shortcut=shortcut, text=text)
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                return Canned(row.id, row.shortcut, row.text)
        except IntegrityError:
            raise DuplicateShortcut(shortcut)

    async def update_canned(self, canned_id: int, shortcut: str, text: str) -> Optional[Canned]:
        try:
            async with self.sessions() as session, session.begin():
                result = await session.execute(update(CannedResponse).where(CannedResponse.id == canned_id)
                                               .values(shortcut=shortcut, text=text))
                if result.rowcount != 1:
                    return None
        except IntegrityError:
            raise DuplicateShortcut(shortcut)
        return Canned(canned_id, shortcut, text)

    async def delete_canned(self, canned_id: int) -> bool:
        async with self.sessions() as session, session.begin():
            return (await session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))).rowcount == 1

    # ---- the built-in CRM -------------------------------------------------------

    async def crm_for(self, shop_customer_id: Optional[str], verified_email: Optional[str],
                      customer_id: Optional[int] = None) -> Dict[str, Any]:
        """Orders and tickets of a verified customer (by shop id or verified e-mail)."""
        conditions = []
        if shop_customer_id:
            conditions.append(Customer.shop_customer_id == shop_customer_id)
        if verified_email:
            conditions.append((func.lower(Customer.email) == verified_email.strip().lower())
                              & Customer.email_verified.is_(True))
        if customer_id is not None:
            conditions.append(Customer.id == customer_id)
        if not conditions:
            return {"orders": [], "tickets": []}
        async with self.sessions() as session:
            owners = select(Customer.id).where(or_(*conditions))
            orders = (await session.execute(select(Order).where(Order.customer_id.in_(owners))
                                            .order_by(Order.placed_at.desc()))).scalars().all()
            tickets = (await session.execute(select(Ticket).where(Ticket.customer_id.in_(owners))
                                             .order_by(Ticket.created_at.desc()))).scalars().all()
        return {"orders": [_order(o) for o in orders],
                "tickets": [{"id": t.id, "subject": t.subject, "status": t.status,
                             "created_at": iso(t.created_at)} for t in tickets]}

    async def order(self, number: str) -> Optional[Dict[str, Any]]:
        """One order with its owner's verified identifiers (for ownership checks)."""
        async with self.sessions() as session:
            row = (await session.execute(select(Order, Customer).join(Customer, Customer.id == Order.customer_id)
                                         .where(Order.number == number))).first()
            if row is None:
                return None
            order, customer = row
            return {**_order(order), "owner": {"shop_customer_id": customer.shop_customer_id,
                                               "email": customer.email if customer.email_verified else None}}

    async def seed_customers(self, customers: Sequence[DemoCustomer]) -> None:
        """Idempotent: customers already present (by shop id) are left alone."""
        async with self.sessions() as session, session.begin():
            for demo in customers:
                known = (await session.execute(select(Customer.id).where(
                    Customer.shop_customer_id == demo.shop_customer_id))).scalars().first()
                if known is not None:
                    continue
                customer = Customer(name=demo.name, email=demo.email, email_verified=True,
                                    shop_customer_id=demo.shop_customer_id, profile=dict(demo.profile), claims={})
                session.add(customer)
                await session.flush()
                for o in demo.orders:
                    tracking_url = (f"https://tracking.example/{o.carrier.lower()}/{o.tracking_number}"
                                    if o.carrier and o.tracking_number else None)
                    session.add(Order(customer_id=customer.id, number=o.number, status=o.status, total_cents=o.cents,
                                      items=o.items, placed_at=_days(o.days_ago), carrier=o.carrier,
                                      tracking_number=o.tracking_number, tracking_url=tracking_url,
                                      shipped_at=_days(o.shipped_days_ago), delivered_at=_days(o.delivered_days_ago),
                                      estimated_delivery=_days(o.delivery_in_days, +1)))
                for subject, status in demo.tickets:
                    session.add(Ticket(customer_id=customer.id, subject=subject, status=status))

    async def seed_canned(self, canned: Sequence[Tuple[str, str]]) -> None:
        async with self.sessions() as session, session.begin():
            existing = set((await session.execute(select(CannedResponse.shortcut))).scalars())
            session.add_all(CannedResponse(shortcut=s, text=t) for s, t in canned if s not in existing)
