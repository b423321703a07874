"""Demo data for `make run`: one account per role, canned responses, customers with orders."""

from __future__ import annotations

from typing import List, Tuple

from agent_console.accounts import Accounts
from bot.store.catalogue import CatalogueStore, DemoCustomer, DemoOrder

DEMO_ACCOUNTS: List[Tuple[str, str, str, str]] = [
    # username, password (12+ characters, as every console password), role, display name
    ("agent", "demo-support-desk", "agent", "Alex Agent"),
    ("trainer", "demo-teach-the-bot", "trainer", "Taylor Trainer"),
    ("admin", "demo-run-the-shop", "admin", "Ari Admin"),
]

CANNED = [
    ("hello", "Hi! I'm here to help. Could you share your order number?"),
    ("refund", "I've started your refund; it reaches your account within 5–7 business days."),
    ("shipping", "Standard shipping takes 3–5 business days; express is 1–2."),
    ("bye", "Thanks for contacting Northwind Outfitters. Have a great day!"),
]

# Shop customer ids are what the demo shop page signs for a logged-in customer. The bot answers
# order questions from these (status, tracking, delivery date, whether a return is still possible).
CUSTOMERS = [
    DemoCustomer("Ada Lovelace", "ada@example.com", "C-1001", orders=[
        DemoOrder("12345", "shipped", 8990, [{"sku": "JKT-01", "name": "Rain jacket", "qty": 1}], 3,
                  carrier="DHL", tracking_number="JD0146000038123", shipped_days_ago=2, delivery_in_days=1),
        DemoOrder("12001", "delivered", 4550, [{"sku": "SCK-07", "name": "Wool socks", "qty": 3}], 40,
                  carrier="DHL", tracking_number="JD0146000031177", shipped_days_ago=39, delivered_days_ago=37),
    ], tickets=[("Jacket zipper stuck", "open")], profile={"tier": "member", "source": "demo CRM"}),
    DemoCustomer("Grace Hopper", "grace@example.com", "C-1002", orders=[
        DemoOrder("23456", "processing", 12900, [{"sku": "BOOT-3", "name": "Hiking boots", "qty": 1}], 1,
                  delivery_in_days=4),
        DemoOrder("23100", "delivered", 3490, [{"sku": "HAT-2", "name": "Merino beanie", "qty": 1}], 6,
                  carrier="UPS", tracking_number="1Z999AA10123456784", shipped_days_ago=5, delivered_days_ago=1),
    ], profile={"tier": "member", "source": "demo CRM"}),
]


async def seed_demo(catalogue: CatalogueStore, accounts: Accounts) -> List[Tuple[str, str, str]]:
    """Idempotent: running it twice changes nothing."""
    for username, password, role, display in DEMO_ACCOUNTS:
        await accounts.ensure_user(username, password, role, display)
    await catalogue.seed_canned(CANNED)
    await catalogue.seed_customers(CUSTOMERS)
    return [(u, p, r) for u, p, r, _ in DEMO_ACCOUNTS]
