"""REST channel, compatible with Rasa's `POST /webhooks/rest/webhook`.

The caller names the sender (it is usually the company's own backend). Unlike Rasa's channel,
a failure is never answered with a silent `[]`: the bot's failure becomes a handoff, and bad
input gets a 4xx with a message. Callers are rate-limited per sender and per address, since
every message runs the model; with `BATON_REST_TOKEN` set only the shop's backend may call.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Dict, Optional, Sequence

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot import jsonsafe
from bot.channels.base import DeliveryFailed, DeliveryReceipt, OutboundChannel, error_body, rasa_output
from bot.channels.inbound_validation import BadInput, clean_id, clean_metadata, clean_text
from bot.client_address import Network, client_address, peer_of_request
from bot.conversation import ConversationFlow
from bot.domain import InboundMessage, OutboundMessage
from bot.identity import IdentityVerifier, without_identity
from bot.rate_limit import RateLimiter

log = logging.getLogger(__name__)

NAME = "rest"


def json_response(body: Any, status: int = 200, headers: Optional[Dict[str, str]] = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=jsonsafe.dumps)


class RestChannel(OutboundChannel):
    name = NAME
    answers_in_turn = True

    def __init__(self, flow: ConversationFlow, identities: IdentityVerifier, max_chars: int,
                 max_body_bytes: int, token: Optional[str] = None, callback_url: Optional[str] = None,
                 per_sender_per_minute: int = 60, per_address_per_minute: int = 600,
                 trusted_proxies: Sequence[Network] = ()) -> None:
        self.flow = flow
        self.identities = identities
        self.max_chars = max_chars
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.callback_url = callback_url
        self.sender_limit = RateLimiter(per_sender_per_minute)
        self.address_limit = RateLimiter(per_address_per_minute)
        self.trusted_proxies = list(trusted_proxies)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/webhooks/rest/", self.health)
        app.router.add_post("/webhooks/rest/webhook", self.receive)

    async def health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def receive(self, request: web.Request) -> web.Response:
        address = client_address(peer_of_request(request), request.headers.get("X-Forwarded-For"),
                                 self.trusted_proxies)
        try:
            trusted = self._authorise(request)
            if not self.address_limit.allow(address):
                raise self._limited(self.address_limit.retry_after(address), "from your address")
            inbound = await self._parse(request, trusted)
            if not self.sender_limit.allow(inbound.external_id):
                raise self._limited(self.sender_limit.retry_after(inbound.external_id), "for this sender")
        except BadInput as exc:
            headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None
            return json_response(error_body(exc.code, exc.message), status=exc.status, headers=headers)
        result = await self.flow.handle(inbound)
        body = [{"recipient_id": inbound.external_id, **rasa_output(OutboundMessage.from_view(m))}
                for m in result.replies]
        return json_response(body)

    @staticmethod
    def _limited(seconds: int, scope: str) -> BadInput:
        error = BadInput("rate_limited", f"too many messages {scope}; try again in {seconds}s", 429)
        error.retry_after = seconds
        return error

    def _authorise(self, request: web.Request) -> bool:
        """True when the caller proved it is the shop's backend (a token is configured and matches)."""
        if not self.token:
            return False
        header = request.headers.get("Authorization", "")
        given = request.query.get("token") or (header[7:] if header.startswith("Bearer ") else "")
        if not hmac.compare_digest(hashlib.sha256(given.encode()).digest(),
                                   hashlib.sha256(self.token.encode()).digest()):
            raise BadInput("unauthorised", "a valid REST token is required", 401)
        return True

    async def _parse(self, request: web.Request, trusted: bool) -> InboundMessage:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise BadInput("body_too_large", f"request bodies are limited to {self.max_body_bytes} bytes", 413)
        try:
            raw = await request.read()  # the whole body, however many packets it came in
        except web.HTTPRequestEntityTooLarge:
            raise BadInput("body_too_large", f"request bodies are limited to {self.max_body_bytes} bytes", 413)
        if len(raw) > self.max_body_bytes:
            raise BadInput("body_too_large", f"request bodies are limited to {self.max_body_bytes} bytes", 413)
        try:
            body = jsonsafe.loads(raw)
        except jsonsafe.BadJson as exc:
            raise BadInput(exc.code, f"the request body is not acceptable JSON: {exc}")
        if not isinstance(body, dict):
            raise BadInput("malformed_json", "the request body must be a JSON object")
        sender = clean_id(body.get("sender"), "sender")
        message = clean_text(body.get("message"), self.max_chars)
        metadata = clean_metadata(body.get("metadata"))
        message_id = clean_id(body.get("message_id", metadata.get("message_id")), "message_id", required=False)
        metadata.pop("message_id", None)
        return InboundMessage(channel=NAME, external_id=sender, text=message, channel_message_id=message_id,
                              metadata=without_identity(metadata),
                              customer=self.identities.claims(metadata, trusted_caller=trusted))

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._post(external_id, {**rasa_output(message), "text": text}, message, idempotency_key)

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        """REST is request/response; later messages go to the configured callback URL, in Rasa's shape."""
        return await self._post(external_id, rasa_output(message), message, idempotency_key)

    async def _post(self, external_id: str, shape: Dict[str, Any], message: OutboundMessage,
                    idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        if not self.callback_url:
            raise DeliveryFailed("this REST customer cannot be reached: set BATON_REST_CALLBACK_URL", retry=False)
        body = {"recipient_id": external_id, "sender": message.sender.value, "message_id": message.message_id,
                **({"agent_name": message.agent_name} if message.agent_name else {}), **shape}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            async with ClientSession(timeout=ClientTimeout(total=10), json_serialize=jsonsafe.dumps) as http:
                async with http.post(self.callback_url, json=body, headers=headers) as response:
                    if response.status >= 500 or response.status == 429:
                        raise DeliveryFailed(f"the callback answered HTTP {response.status}")
                    if response.status >= 400:
                        raise DeliveryFailed(f"the callback refused the message (HTTP {response.status})",
                                             retry=False)
        except (ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"the callback could not be reached ({type(exc).__name__})")
        return DeliveryReceipt()
