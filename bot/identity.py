"""Whether to believe what a channel says about who is writing.

A shop proves a customer's identity the way Intercom's and Chatwoot's identity verification
do: its backend computes `HMAC-SHA256(BATON_IDENTITY_SECRET, customer_id)` (hex) and puts it
in the page next to the id; Baton recomputes it. That verifies the id, nothing sent with it.
A REST caller that authenticated with `BATON_REST_TOKEN` is the shop's own backend and is
believed as such. Anything else is a claim.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, Optional

from bot.domain import CustomerClaims

ID_KEYS = ("customer_id", "shop_customer_id")
EMAIL_KEYS = ("customer_email", "email")
NAME_KEYS = ("customer_name", "name")
HASH_KEYS = ("customer_hash", "user_hash")


def _first(metadata: Dict[str, Any], keys) -> Optional[str]:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:320]
    return None


def sign_customer_id(secret: str, customer_id: str) -> str:
    """What the shop's backend computes (shown here so tests and docs use the same recipe)."""
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


class IdentityVerifier:
    def __init__(self, secret: Optional[str]) -> None:
        self.secret = secret

    def signed(self, customer_id: Optional[str], signature: Optional[str]) -> bool:
        if not (self.secret and customer_id and signature):
            return False
        return hmac.compare_digest(sign_customer_id(self.secret, customer_id), signature.strip().lower())

    def claims(self, metadata: Dict[str, Any], trusted_caller: bool = False) -> CustomerClaims:
        """The customer's identity from a message's metadata, verified or merely claimed."""
        customer_id = _first(metadata, ID_KEYS)
        email = _first(metadata, EMAIL_KEYS)
        return CustomerClaims(name=_first(metadata, NAME_KEYS),
                              email=email if email and "@" in email else None,
                              shop_customer_id=customer_id, verified=trusted_caller,
                              id_verified=self.signed(customer_id, _first(metadata, HASH_KEYS)))


def without_identity(metadata: Dict[str, Any]) -> Dict[str, Any]:
    """Metadata minus the identity fields (kept on the customer, not on every conversation)."""
    drop = set(ID_KEYS + EMAIL_KEYS + NAME_KEYS + HASH_KEYS)
    return {k: v for k, v in metadata.items() if k not in drop}
