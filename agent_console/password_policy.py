"""What a console password must be: long enough, and not one attackers try first.

NIST SP 800-63B's advice: a minimum length, a check against passwords known from breaches
and easy patterns, and no composition rules beyond that.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

MIN_LENGTH = 12
MAX_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"


@lru_cache(maxsize=1)
def _common() -> frozenset:
    words = (line.strip().lower() for line in COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def _core(password: str) -> str:
    """The word under the decoration: 'Password123!' → 'password'."""
    return re.sub(r"[^a-z]+$", "", re.sub(r"^[^a-z]+", "", password.lower()))


def _is_sequence(password: str) -> bool:
    lowered = password.lower()
    if len(set(lowered)) <= 2:
        return True
    # Alphabet, digits, and keyboard walks (rows run on into the next one: "qwertyuiopas").
    rows = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "1234567890qwertyuiopasdfghjklzxcvbnm",
            "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")
    for row in rows:
        doubled = row + row
        if lowered in doubled or lowered in doubled[::-1]:
            return True
    return False


def password_problem(password: str, username: str = "") -> Optional[str]:
    """Why a password is refused, in words for the person choosing it; None when it is fine."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"passwords must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"passwords are limited to {MAX_LENGTH} characters"
    lowered = password.lower()
    common = _common()
    core = _core(password)
    # The word under the decoration counts only when it is most of the password: "Password123!"
    # is "password", but in "pw-130948272651" the random digits are the password, not "pw".
    core_counts = len(core) >= 4 and 2 * len(core) >= len(password)
    if lowered in common or core_counts and core in common:
        return "that password is too common; choose one that attackers would not try first"
    if _is_sequence(password) or core_counts and _is_sequence(core):
        return "that password is a simple pattern; choose something less predictable"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "the password must not contain the username"
    return None
