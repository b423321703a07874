"""Web chat session ids that the server issues and signs.

Rasa's socketio channel lets a client pick any session id, so anyone who guesses
one reads that conversation. Baton's ids carry 128 random bits, an issue time and
an HMAC; a forged, altered or expired id is refused and the client gets a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Optional


class SessionSigner:
    def __init__(self, secret: str, lifetime_seconds: float) -> None:
        self._key = hashlib.sha256(("webchat-session:" + secret).encode()).digest()
        self.lifetime = lifetime_seconds

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, now: Optional[float] = None) -> str:
        issued = int(now if now is not None else time.time())
        body = f"{issued:x}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: object, now: Optional[float] = None) -> Optional[str]:
        """The session's stable identity if the token is genuine and current, else None."""
        if not isinstance(token, str) or len(token) > 200 or token.count(".") != 2:
            return None
        issued_hex, random_part, signature = token.split(".")
        if not hmac.compare_digest(self._sign(f"{issued_hex}.{random_part}"), signature):
            return None
        try:
            issued = int(issued_hex, 16)
        except ValueError:
            return None
        if (now if now is not None else time.time()) - issued > self.lifetime:
            return None
        return random_part
