"""Login throttling: a password guesser gets a 429 and a wait, not hundreds of bcrypt rounds.

Failures are counted per account (someone guessing one agent's password from many addresses)
and attempts per address (one address trying many accounts). A success clears the account's
failures. Counters live in the process: with several workers each counts its own share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.rate_limit import RateLimiter


@dataclass(frozen=True)
class Throttled:
    retry_after: int
    reason: str


class LoginThrottle:
    def __init__(self, failures_per_account: int = 5, account_window_seconds: float = 900.0,
                 attempts_per_address: int = 20, address_window_seconds: float = 60.0) -> None:
        self.account_failures = RateLimiter(failures_per_account, account_window_seconds)
        self.address_attempts = RateLimiter(attempts_per_address, address_window_seconds)

    def check(self, username: str, address: str) -> Optional[Throttled]:
        """Count an attempt; a Throttled when this one must wait."""
        account = username.strip().lower()
        if self.account_failures.blocked(account):
            return Throttled(self.account_failures.retry_after(account),
                             "too many failed logins for this account")
        if not self.address_attempts.allow(address):
            return Throttled(self.address_attempts.retry_after(address), "too many logins from your address")
        return None

    def failed(self, username: str) -> None:
        self.account_failures.allow(username.strip().lower())

    def succeeded(self, username: str) -> None:
        self.account_failures.reset(username.strip().lower())
