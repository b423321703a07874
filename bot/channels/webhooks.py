"""What every provider channel (Twilio, Telegram, Meta, e-mail) does the same way.

- The URL a provider signed is the one it was given: behind a proxy that is `BATON_PUBLIC_URL`
  plus the path, not the address the request arrived at.
- A provider's text is the customer's words: never refused (the provider would only retry), but
  made storable (no NUL, no lone surrogates) and cut to Baton's limit with a visible mark.
- A failed send is classified once: an error answer or a refused connection means the provider
  did not take the message (retry is safe, `DeliveryFailed`); a timeout or a connection dropped
  after the request went out means it may have (`DeliveryUncertain`, never re-sent blindly).
- Error texts end up in the console: secrets are scrubbed out of them first.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Iterable, List, Optional

from aiohttp import ClientConnectorError, ClientError, web

from bot.channels.base import DeliveryFailed, DeliveryUncertain

TRUNCATED = " […]"


def signed_url(request: web.Request, public_url: Optional[str]) -> str:
    """The full URL the provider called, as the provider knows it (scheme, host, path and query)."""
    if public_url:
        return public_url.rstrip("/") + str(request.rel_url)
    return str(request.url)


def provider_text(value: Optional[str], max_chars: int) -> str:
    """A provider's text made storable: NUL and lone surrogates dropped, cut to `max_chars` with a mark."""
    text = (value or "").replace("\x00", "")
    text = text.encode("utf-8", "ignore").decode("utf-8") if _has_surrogates(text) else text
    text = text.strip()
    if len(text) > max_chars:
        text = text[: max_chars - len(TRUNCATED)].rstrip() + TRUNCATED
    return text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def same_secret(given: Optional[str], expected: Optional[str]) -> bool:
    """Constant-time comparison; a missing value never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class Scrubber:
    """Removes secret values from texts that reach logs, the database and the console."""

    def __init__(self, secrets: Iterable[Optional[str]]) -> None:
        self._secrets: List[str] = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def also(self, *values: Optional[str]) -> "Scrubber":
        """This scrubber, with more secret values (a derived webhook secret)."""
        return Scrubber([*self._secrets, *values])

    def __call__(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "***")
        return text[:500]


def status_failure(provider: str, status: int, detail: str, scrub: Scrubber) -> DeliveryFailed:
    """A provider answered with an error: it did not take the message."""
    retry = status >= 500 or status in (408, 429)
    what = "is unavailable" if retry else "refused the message"
    return DeliveryFailed(scrub(f"{provider} {what} (HTTP {status}): {detail}".rstrip(": ")), retry=retry)


def transport_failure(provider: str, exc: BaseException, scrub: Scrubber) -> DeliveryFailed:
    """No answer from the provider: was the request sent before it broke?"""
    if isinstance(exc, ClientConnectorError):
        # Never connected: nothing was sent.
        return DeliveryFailed(scrub(f"{provider} could not be reached ({type(exc).__name__})"))
    if isinstance(exc, (asyncio.TimeoutError, ClientError, OSError)):
        return DeliveryUncertain(scrub(
            f"{provider} did not answer ({type(exc).__name__}) after the message was sent, so it may have been "
            "delivered; not re-sent automatically"))
    return DeliveryFailed(scrub(f"{provider}: {type(exc).__name__}: {exc}"))


def empty_ok() -> web.Response:
    return web.Response(status=200, text="")
