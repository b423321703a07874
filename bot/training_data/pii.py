"""Masking what must not become training data: e-mail addresses, phone numbers, payment card numbers.

A customer's message is masked before it is offered as an example; the trainer sees the
masked text (and what was masked) and can edit it before it is saved. Order numbers (4–6
digits) are the bot's business and are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Tuple

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d ().-]{6,}\d(?![\w])")

EMAIL_MASK = "name@example.com"
PHONE_MASK = "555-0100"
CARD_MASK = "[card number]"


@dataclass(frozen=True)
class Masked:
    kind: str       # email | phone | card
    original: str
    replacement: str


def _luhn(digits: str) -> bool:
    total, double = 0, False
    for char in reversed(digits):
        value = int(char)
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total % 10 == 0


def mask(text: str) -> Tuple[str, List[Masked]]:
    found: List[Masked] = []

    def email(match: re.Match) -> str:
        found.append(Masked("email", match.group(0), EMAIL_MASK))
        return EMAIL_MASK

    def card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append(Masked("card", match.group(0), CARD_MASK))
            return CARD_MASK
        return match.group(0)

    def phone(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 8 or len(digits) > 15:
            return match.group(0)  # order numbers and short codes stay
        found.append(Masked("phone", match.group(0), PHONE_MASK))
        return PHONE_MASK

    masked = EMAIL.sub(email, text)
    masked = CARD.sub(card, masked)
    masked = PHONE.sub(phone, masked)
    return masked, found
