"""Twilio SMS and Twilio WhatsApp: signed form webhooks in, the Messages API out, status callbacks back.

One module for both, as in Rasa (whose `twilio` connector speaks WhatsApp when its number is
`whatsapp:+…`): SMS is the channel `twilio` (Rasa's name and webhook path), WhatsApp the
channel `whatsapp`. Each inbound webhook is checked with Twilio's own `RequestValidator`
(HMAC-SHA1 of the exact URL Twilio called plus the sorted form fields): behind a proxy that URL
is `BATON_PUBLIC_URL` + the path. An unsigned or wrongly signed request gets 403 and nothing is
stored. A good one is committed (`flow.accept`) and answered at once with an empty TwiML
`<Response/>`, well inside Twilio's 15 s: the bot's answers go out through the outbox.

Outbound uses the `twilio` library (already installed with Rasa) with its asyncio transport,
`AsyncTwilioHttpClient` (aiohttp) and `messages.create_async`: the synchronous default client
would block the event loop for each API round trip. Its Messages API base URL is the
`base_url` setting, so tests run it against a local server that speaks Twilio's API. (Measured:
twilio 8.2's `AsyncTwilioHttpClient` stores its `timeout` argument but passes each request
`timeout=None`, i.e. no timeout at all; the channel bounds every call itself.)

Twilio's Messages API has no idempotency key, so the channel is `at_most_once`: a send whose
answer never came is not repeated (see `bot/channels/delivery.py`). Each message asks for status
callbacks at `/webhooks/<channel>/status?outbox=<key>`: the key names the outbox item, so a
report settles even a send whose answer was lost. Reports move a message forward (accepted →
sent → delivered → read) and `failed`/`undelivered` mark it failed with Twilio's error code.

WhatsApp allows free-form messages only within 24 hours of the customer's last message. An
agent's reply after that is refused before it is stored (`agent_reply_refusal`), or, with
`template_content_sid` configured, sent as that pre-approved template with the reply's text as
its variable.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import DeliveryFailed, DeliveryReceipt, OutboundChannel
from bot.channels.credentials import TwilioCredentials
from bot.channels.delivery import DeliveryReports
from bot.channels.webhooks import Scrubber, provider_text, signed_url, status_failure, transport_failure
from bot.conversation import ConversationFlow
from bot.domain import CustomerClaims, InboundMessage, OutboundMessage
from bot.store.conversations import ConversationStore

log = logging.getLogger(__name__)
# The twilio client logs ten INFO lines per request (never the auth token); only its problems matter here.
HTTP_LOG = log.getChild("http")
HTTP_LOG.setLevel(logging.WARNING)

SMS = "twilio"
WHATSAPP = "whatsapp"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10

# Twilio's message statuses → how far a message got (bot/store/outbox.py).
PROGRESS = {"queued": "accepted", "accepted": "accepted", "scheduled": "accepted", "sending": "accepted",
            "sent": "sent", "delivered": "delivered", "read": "read",
            "failed": "failed", "undelivered": "failed", "canceled": "failed"}


class TwilioChannel(OutboundChannel):
    answers_in_turn = False
    at_most_once = True

    def __init__(self, name: str, credentials: TwilioCredentials, flow: ConversationFlow,
                 conversations: ConversationStore, reports: DeliveryReports, public_url: Optional[str],
                 max_chars: int, scrub: Scrubber, extra_paths: Sequence[str] = ()) -> None:
        self.name = name
        self.credentials = credentials
        self.flow = flow
        self.conversations = conversations
        self.reports = reports
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_chars = max_chars
        self.scrub = scrub
        self.paths = [name, *extra_paths]
        self.validator = RequestValidator(credentials.auth_token)
        self.window = timedelta(hours=credentials.session_window_hours)
        self._http: Optional[AsyncTwilioHttpClient] = None
        self._client: Optional[Client] = None

    @property
    def is_whatsapp(self) -> bool:
        return self.name == WHATSAPP

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if not self.public_url:
            log.warning("%s: BATON_PUBLIC_URL is not set: Twilio cannot be asked for delivery reports, and "
                        "webhook signatures are checked against the address requests arrive at", self.name)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = self._client = None

    def _api(self) -> Client:
        if self._client is None:  # created on the running loop: its aiohttp session belongs to it
            self._http = AsyncTwilioHttpClient(timeout=self.credentials.timeout_seconds, logger=HTTP_LOG)
            self._client = Client(self.credentials.account_sid, self.credentials.auth_token,
                                  http_client=self._http)
            self._client.api.base_url = self.credentials.base_url.rstrip("/")
        return self._client

    # ---- inbound ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        for path in self.paths:
            app.router.add_get(f"/webhooks/{path}/", self.health)
            app.router.add_post(f"/webhooks/{path}/webhook", self.receive)
        app.router.add_post(f"/webhooks/{self.name}/status", self.status)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _signed_form(self, request: web.Request):
        signature = request.headers.get("X-Twilio-Signature", "")
        form = await request.post()
        url = signed_url(request, self.public_url)
        if not signature or not self.validator.validate(url, form, signature):
            log.warning("%s: refused a request without a valid X-Twilio-Signature for %s (is BATON_PUBLIC_URL "
                        "the address Twilio calls?)", self.name, request.path)
            raise web.HTTPForbidden(text="invalid or missing X-Twilio-Signature")
        return form

    async def receive(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsMessageSid")
        if not sender or not sid:
            raise web.HTTPBadRequest(text="From and MessageSid are required")
        if sender.startswith("whatsapp:") != self.is_whatsapp:
            log.warning("%s: a message from %s arrived at this channel's webhook; ignored (configure the "
                        "other Twilio channel)", self.name, sender.split(":")[0])
        else:
            await self.flow.accept(self.inbound(form))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    def inbound(self, form) -> InboundMessage:
        """One Twilio message webhook as Baton's inbound message (media and locations listed as text)."""
        sender = form["From"]
        parts = [form.get("Body") or ""]
        try:
            media = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
        except ValueError:
            media = 0
        for i in range(media):
            url, kind = form.get(f"MediaUrl{i}"), form.get(f"MediaContentType{i}") or "file"
            if url:
                parts.append(f"[attachment: {kind} {url}]")
        if form.get("Latitude") and form.get("Longitude"):
            parts.append(f"[location: {form['Latitude']}, {form['Longitude']}]")
        text = provider_text("\n".join(p for p in parts if p.strip()), self.max_chars) or "(empty message)"
        phone = sender.split(":", 1)[1] if sender.startswith("whatsapp:") else sender
        claims = CustomerClaims(name=form.get("ProfileName") or None, phone=phone,
                                # Twilio's signature vouches that this number sent the message.
                                phone_verified=phone.startswith("+"))
        metadata = {k: v for k, v in (("from_country", form.get("FromCountry")),
                                      ("from_city", form.get("FromCity"))) if v}
        return InboundMessage(channel=self.name, external_id=sender, text=text, channel_message_id=form.get(
            "MessageSid") or form.get("SmsMessageSid"), metadata=metadata, customer=claims)

    async def status(self, request: web.Request) -> web.Response:
        """Twilio's status callback: how far a message we sent got."""
        form = await self._signed_form(request)
        reported = form.get("MessageStatus") or form.get("SmsStatus") or ""
        progress = PROGRESS.get(reported)
        if progress is not None:
            error = None
            if progress == "failed":
                code = form.get("ErrorCode")
                error = f"Twilio reports the message {reported}" + (f" (error {code})" if code else "")
            await self.reports.provider_status(self.name, progress, idempotency_key=request.query.get("outbox"),
                                               provider_message_id=form.get("MessageSid"), error=error)
        return web.Response(status=200, text="")

    # ---- outbound --------------------------------------------------------------------

    async def agent_reply_refusal(self, conversation_id: int) -> Optional[str]:
        if not self.is_whatsapp or self.credentials.template_content_sid:
            return None
        if await self._window_open(conversation_id):
            return None
        hours = f"{self.credentials.session_window_hours:g}"
        return (f"WhatsApp delivers free-form replies only within {hours} hours of the customer's last message, "
                "and that window has closed. They can be reached again when they write, or through an approved "
                "template (set whatsapp.template_content_sid).")

    async def _window_open(self, conversation_id: int) -> bool:
        last = await self.conversations.last_customer_message_at(conversation_id)
        return last is not None and datetime.now(timezone.utc) - last < self.window

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._send(external_id, message, idempotency_key, body=text)

    async def send_image(self, external_id: str, message: OutboundMessage,
                         idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        if not self.is_whatsapp:
            return await super().send_image(external_id, message, idempotency_key)  # SMS: the link, as text
        return await self._send(external_id, message, idempotency_key, body=message.text or None,
                                media_url=[message.image])

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        if self.is_whatsapp and not await self._window_open(message.conversation_id):
            template = self.credentials.template_content_sid
            if not template:
                raise DeliveryFailed("the WhatsApp 24-hour window closed before it could be sent; the customer "
                                     "can be reached again when they write", retry=False)
            text = message.text or (message.image or "")
            return await self._send(external_id, message, idempotency_key, content_sid=template,
                                    content_variables=json.dumps({"1": text}))
        return await super().deliver(external_id, message, idempotency_key)

    async def _send(self, to: str, message: OutboundMessage, idempotency_key: Optional[str],
                    **content: Any) -> DeliveryReceipt:
        creds = self.credentials
        params: Dict[str, Any] = {key: value for key, value in content.items() if value is not None}
        if creds.messaging_service_sid:
            params["messaging_service_sid"] = creds.messaging_service_sid
        else:
            params["from_"] = creds.twilio_number
        if self.public_url and idempotency_key:
            params["status_callback"] = f"{self.public_url}/webhooks/{self.name}/status?outbox={idempotency_key}"
        try:
            # AsyncTwilioHttpClient keeps its `timeout` argument but never applies it (8.2): bound it here.
            sent = await asyncio.wait_for(self._api().messages.create_async(to=to, **params),
                                          self.credentials.timeout_seconds)
        except TwilioRestException as exc:
            detail = f"{exc.msg} (error {exc.code})" if exc.code else str(exc.msg)
            raise status_failure("Twilio", exc.status, detail, self.scrub)
        except Exception as exc:
            raise transport_failure("Twilio", exc, self.scrub)
        return DeliveryReceipt(provider_message_id=sent.sid, provider_status=PROGRESS.get(sent.status or ""))


def twilio_channels(sms: Optional[TwilioCredentials], whatsapp: Optional[TwilioCredentials],
                    whatsapp_on_twilio_path: bool, **deps: Any) -> List[TwilioChannel]:
    """The configured Twilio channels. A Rasa `twilio` section with a WhatsApp number keeps Rasa's path."""
    channels = []
    if sms is not None:
        channels.append(TwilioChannel(SMS, sms, **deps))
    if whatsapp is not None:
        extra = [SMS] if whatsapp_on_twilio_path and sms is None else []
        channels.append(TwilioChannel(WHATSAPP, whatsapp, extra_paths=extra, **deps))
    return channels


__all__ = ["TwilioChannel", "twilio_channels", "SMS", "WHATSAPP"]
