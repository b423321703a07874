"""Demo data for `make run`: one account per role, canned responses, customers with orders."""

from __future__ import annotations

from datetime import timedelta
from typing import List, Tuple

from sqlalchemy import select

from agent_console.accounts import Accounts
from bot.store.repository import ConversationStore
from bot.store.tables import CannedResponse, Customer, Order, Ticket, utcnow

DEMO_ACCOUNTS: List[Tuple[str, str, str, str]] = [
    # username, password, role, display name
    ("agent", "agent-demo", "agent", "Alex Agent"),
    ("trainer", "trainer-demo", "trainer", "Taylor Trainer"),
    ("admin", "admin-demo", "admin", "Ari Admin"),
]

CANNED = [
    ("hello", "Hi! I'm here to help. Could you share your order number?"),
    ("refund", "I've started your refund; it reaches your account within 5–7 business days."),
    ("shipping", "Standard shipping takes 3–5 business days; express is 1–2."),
    ("bye", "Thanks for contacting Northwind Outfitters. Have a great day!"),
]

CUSTOMERS = [
    ("Ada Lovelace", "ada@example.com", [
        ("12345", "shipped", 8990, [{"sku": "JKT-01", "name": "Rain jacket", "qty": 1}], 3),
        ("12001", "delivered", 4550, [{"sku": "SCK-07", "name": "Wool socks", "qty": 3}], 40),
    ], [("Jacket zipper stuck", "open")]),
    ("Grace Hopper", "grace@example.com", [
        ("23456", "processing", 12900, [{"sku": "BOOT-3", "name": "Hiking boots", "qty": 1}], 1),
    ], []),
]


async def seed_demo(store: ConversationStore, accounts: Accounts) -> List[Tuple[str, str, str]]:
    """Idempotent: running it twice changes nothing."""
    for username, password, role, display in DEMO_ACCOUNTS:
        await accounts.ensure_user(username, password, role, display)
    async with store.sessions() as session, session.begin():
        existing = set((await session.execute(select(CannedResponse.shortcut))).scalars())
        session.add_all(CannedResponse(shortcut=s, text=t) for s, t in CANNED if s not in existing)
        for name, email, orders, tickets in CUSTOMERS:
            known = (await session.execute(select(Customer).where(Customer.email == email,
                                                                  Customer.name == name))).scalars().first()
            if known is not None:
                continue
            customer = Customer(name=name, email=email, profile={"tier": "member", "source": "demo CRM"})
            session.add(customer)
            await session.flush()
            for number, status, cents, items, days_ago in orders:
                session.add(Order(customer_id=customer.id, number=number, status=status, total_cents=cents,
                                  items=items, placed_at=utcnow() - timedelta(days=days_ago)))
            for subject, status in tickets:
                session.add(Ticket(customer_id=customer.id, subject=subject, status=status))
    return [(u, p, r) for u, p, r, _ in DEMO_ACCOUNTS]
