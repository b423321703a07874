"""Messenger and Instagram: Meta's Graph API webhooks in, the Send API out, quick replies for buttons.

One module for both: Instagram messaging is the Messenger Platform with `object: instagram`, the
same webhook shape (`entry[].messaging[]`), the same signature and the same Send API. The
channels are `facebook` (Rasa's name, webhook path and credential keys: `verify`, `secret`,
`page-access-token`) and `instagram` (the same keys).

- The webhook handshake: Meta's `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
  is answered with the challenge when the token matches, 403 otherwise.
- Every POST is signed: `X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>`. A
  missing or wrong signature gets 403 and nothing is stored. (Rasa still checks the older SHA-1
  `X-Hub-Signature`.) A good one is committed (`flow.accept`, one message per `messaging`
  event, its `mid` the idempotency key) and answered `200 EVENT_RECEIVED` at once, inside
  Meta's 20 s: the bot's answers go out through the outbox.
- Delivery and read receipts (`delivery.mids` / `delivery.watermark`, `read.watermark`,
  Instagram's `read.mid`) move the messages they name to delivered or read.

Outbound builds the Send API payloads with `fbmessenger` (installed with Rasa: `Text`,
`QuickReplies`, `Image`) but sends them with aiohttp, because its `MessengerClient` posts with
`requests`, synchronously. Measured: one `MessengerClient.send` to a Send API answering in
300 ms stalled the event loop 309 ms, and a 503 answered with an HTML page surfaced as a
`JSONDecodeError` with no status, so an outage could not be told from a refusal. The Graph
base URL and API version are settings, so tests run against a local server that speaks the
Send API. The Send API has no idempotency key: the channel is `at_most_once`.

Meta allows free-form replies within 24 hours of the customer's last message, or 7 days for
agent replies with the `HUMAN_AGENT` tag (`human_agent_tag: true`, which Meta must approve for
the app). An agent's reply outside that window is refused before it is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from aiohttp import ClientSession, ClientTimeout, web
from fbmessenger.attachments import Image
from fbmessenger.elements import Text
from fbmessenger.quick_replies import QuickReplies, QuickReply

from bot import jsonsafe
from bot.channels.base import DeliveryFailed, DeliveryReceipt, OutboundChannel, text_with_options
from bot.channels.credentials import MetaCredentials
from bot.channels.delivery import DeliveryReports
from bot.channels.webhooks import Scrubber, provider_text, same_secret, status_failure, transport_failure
from bot.conversation import ConversationFlow
from bot.domain import InboundMessage, OutboundMessage, SenderKind
from bot.store.conversations import ConversationStore

log = logging.getLogger(__name__)

MESSENGER = "facebook"
INSTAGRAM = "instagram"
OBJECTS = {MESSENGER: "page", INSTAGRAM: "instagram"}
MAX_QUICK_REPLIES = 11        # fbmessenger's QuickReplies limit
MAX_TEXT = 2000               # the Send API's limit for a text message
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Graph error codes that mean "try again later" (unknown error, service, rate limits).
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613}


def signature_of(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def message_payload(message: OutboundMessage, text: str) -> Dict[str, Any]:
    """A Send API `message`: text with quick replies for buttons (numbered lines past Meta's limit)."""
    if message.buttons and len(message.buttons) <= MAX_QUICK_REPLIES:
        replies = QuickReplies([QuickReply(title=str(b.get("title") or b.get("payload"))[:20],
                                           payload=str(b.get("payload") or b.get("title"))[:1000])
                                for b in message.buttons])
        return Text(text[:MAX_TEXT] or "…", quick_replies=replies).to_dict()
    if message.buttons:
        text = text_with_options(text, message.buttons)
    return Text(text[:MAX_TEXT]).to_dict()


def _when(milliseconds: Any) -> Optional[datetime]:
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class MetaChannel(OutboundChannel):
    answers_in_turn = False
    at_most_once = True

    def __init__(self, name: str, credentials: MetaCredentials, flow: ConversationFlow,
                 conversations: ConversationStore, reports: DeliveryReports, max_chars: int, scrub: Scrubber) -> None:
        self.name = name
        self.object = OBJECTS[name]
        self.provider = "Messenger" if name == MESSENGER else "Instagram"
        self.credentials = credentials
        self.flow = flow
        self.conversations = conversations
        self.reports = reports
        self.max_chars = max_chars
        self.scrub = scrub
        self.send_url = f"{credentials.base_url.rstrip('/')}/{credentials.api_version}/me/messages"
        self._http: Optional[ClientSession] = None

    # ---- lifecycle -------------------------------------------------------------------

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> ClientSession:
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=self.credentials.timeout_seconds),
                                       json_serialize=jsonsafe.dumps)
        return self._http

    # ---- inbound ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"/webhooks/{self.name}/", self.health)
        app.router.add_get(f"/webhooks/{self.name}/webhook", self.handshake)
        app.router.add_post(f"/webhooks/{self.name}/webhook", self.receive)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def handshake(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo the challenge when the verify token is ours."""
        query = request.query
        if query.get("hub.mode") == "subscribe" and same_secret(query.get("hub.verify_token"),
                                                                self.credentials.verify):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("%s: webhook verification with a wrong verify token", self.name)
        raise web.HTTPForbidden(text="wrong verify token")

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not same_secret(request.headers.get("X-Hub-Signature-256"), signature_of(self.credentials.secret, raw)):
            log.warning("%s: refused a webhook without a valid X-Hub-Signature-256", self.name)
            raise web.HTTPForbidden(text="invalid or missing X-Hub-Signature-256")
        try:
            body = jsonsafe.loads(raw)
        except jsonsafe.BadJson:
            raise web.HTTPBadRequest(text="the body is not JSON")
        if not isinstance(body, dict) or body.get("object") != self.object:
            log.warning("%s: ignored a webhook for object %r", self.name, body.get("object") if isinstance(
                body, dict) else None)
            return web.Response(text="EVENT_RECEIVED")
        for event in self.events(body):
            if event.get("delivery") or event.get("read"):
                await self._receipt(event)
                continue
            inbound = self.inbound(event)
            if inbound is not None:
                await self.flow.accept(inbound)
        return web.Response(text="EVENT_RECEIVED")

    @staticmethod
    def events(body: Dict[str, Any]) -> List[Dict[str, Any]]:
        events = []
        for entry in body.get("entry") or []:
            if isinstance(entry, dict):
                events += [e for e in entry.get("messaging") or [] if isinstance(e, dict)]
        return events

    def inbound(self, event: Dict[str, Any]) -> Optional[InboundMessage]:
        """One `messaging` event as Baton's inbound message; None for echoes and what carries no message."""
        sender = (event.get("sender") or {}).get("id")
        message, postback = event.get("message"), event.get("postback")
        if not sender:
            return None
        if isinstance(message, dict):
            if message.get("is_echo") or message.get("is_deleted"):
                return None   # the page's own messages, and unsends
            mid = message.get("mid")
            quick = message.get("quick_reply") or {}
            parts = [quick.get("payload") or message.get("text") or ""]
            for attachment in message.get("attachments") or []:
                if isinstance(attachment, dict):
                    url = (attachment.get("payload") or {}).get("url") or ""
                    parts.append(f"[attachment: {attachment.get('type') or 'file'} {url}]".replace(" ]", "]"))
            text = "\n".join(p for p in parts if p)
        elif isinstance(postback, dict):
            mid = postback.get("mid") or f"postback-{event.get('timestamp')}"
            text = postback.get("payload") or postback.get("title") or ""
        else:
            return None
        text = provider_text(text, self.max_chars)
        if not text or not mid:
            return None
        return InboundMessage(channel=self.name, external_id=str(sender), text=text, channel_message_id=str(mid))

    async def _receipt(self, event: Dict[str, Any]) -> None:
        customer = str((event.get("sender") or {}).get("id") or "")
        delivery, read = event.get("delivery"), event.get("read")
        if isinstance(delivery, dict):
            for mid in delivery.get("mids") or []:
                await self.reports.provider_status(self.name, "delivered", provider_message_id=str(mid))
            until = _when(delivery.get("watermark"))
            if until and customer:
                await self.reports.read_until(self.name, customer, until, "delivered")
        if isinstance(read, dict):
            if read.get("mid"):   # Instagram names the message read
                await self.reports.provider_status(self.name, "read", provider_message_id=str(read["mid"]))
            until = _when(read.get("watermark"))
            if until and customer:
                await self.reports.read_until(self.name, customer, until, "read")

    # ---- outbound --------------------------------------------------------------------

    def _window(self) -> timedelta:
        return HUMAN_AGENT_WINDOW if self.credentials.human_agent_tag else STANDARD_WINDOW

    async def agent_reply_refusal(self, conversation_id: int) -> Optional[str]:
        last = await self.conversations.last_customer_message_at(conversation_id)
        if last is not None and datetime.now(timezone.utc) - last < self._window():
            return None
        if self.credentials.human_agent_tag:
            return (f"{self.provider} allows agent replies only within 7 days of the customer's last message, "
                    "and that has passed. They can be reached again when they write.")
        return (f"{self.provider} allows replies only within 24 hours of the customer's last message, and that "
                "window has closed. They can be reached again when they write (or enable human_agent_tag, "
                "approved by Meta, for 7 days).")

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._send(external_id, message, Text(text[:MAX_TEXT]).to_dict())

    async def send_buttons(self, external_id: str, message: OutboundMessage,
                           idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._send(external_id, message, message_payload(message, message.text))

    async def send_image(self, external_id: str, message: OutboundMessage,
                         idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._send(external_id, message, Image(url=message.image).to_dict())

    async def typing(self, external_id: str, typing: bool) -> None:
        try:
            await self._post({"recipient": {"id": external_id}, "sender_action": "typing_on" if typing
                              else "typing_off"})
        except DeliveryFailed as exc:
            log.info("%s: typing indicator not shown: %s", self.name, exc)

    async def _send(self, recipient: str, message: OutboundMessage, payload: Dict[str, Any]) -> DeliveryReceipt:
        body: Dict[str, Any] = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": payload}
        if message.sender is not SenderKind.BOT and self.credentials.human_agent_tag:
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        answer = await self._post(body)
        return DeliveryReceipt(provider_message_id=answer.get("message_id"), provider_status="accepted")

    async def _post(self, body: Dict[str, Any]) -> Dict[str, Any]:
        try:
            async with self._session().post(self.send_url, json=body,
                                            params={"access_token": self.credentials.page_access_token}) as response:
                text = await response.text()
                status = response.status
        except Exception as exc:
            raise transport_failure(self.provider, exc, self.scrub)
        try:
            answer = jsonsafe.loads(text) if text else {}
        except jsonsafe.BadJson:
            answer = {}
        if status == 200 and isinstance(answer, dict):
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else {}
        if not error:
            raise status_failure(self.provider, status, text[:200], self.scrub)
        transient = (status >= 500 or status in (408, 429) or bool(error.get("is_transient"))
                     or error.get("code") in TRANSIENT_CODES)
        what = "is unavailable" if transient else "refused the message"
        raise DeliveryFailed(self.scrub(f"{self.provider} {what} (HTTP {status}): {error.get('message')} "
                                        f"(code {error.get('code')})"), retry=transient)


def meta_channels(facebook: Optional[MetaCredentials], instagram: Optional[MetaCredentials],
                  **deps: Any) -> List[MetaChannel]:
    channels = []
    if facebook is not None:
        channels.append(MetaChannel(MESSENGER, facebook, **deps))
    if instagram is not None:
        channels.append(MetaChannel(INSTAGRAM, instagram, **deps))
    return channels
