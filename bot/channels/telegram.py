"""Telegram: a bot webhook in, the Bot API out, buttons as inline keyboards.

Telegram proves a webhook is its own with the secret it was given in `setWebhook`: every update
carries it in `X-Telegram-Bot-Api-Secret-Token`. Baton registers the webhook at start-up (when
`webhook_url` is configured) with a secret derived from the bot token, unless one is configured,
so a Rasa `credentials.yml` (which has no such secret) carries over; any request without the
secret gets 403 and nothing is stored. An update is committed (`flow.accept`) and answered at
once; a button tap (`callback_query`) is acknowledged in the webhook's own answer
(`answerCallbackQuery` as the response body), so its spinner stops without another API call.

Outbound uses `aiogram` (installed with Rasa), which is asyncio-native, pointed at the configured
API server (`TelegramAPIServer.from_base(base_url)`), so tests run it against a local server
that speaks the Bot API. Telegram has no idempotency key and no delivery receipts: the channel
is `at_most_once`, and a message is shown as sent when the Bot API accepted it. Buttons become
an inline keyboard (one button a row); a tap comes back as the button's payload, as in Rasa.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Dict, List, Optional

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils import exceptions as tg
from aiohttp import ClientConnectorError, ClientError, web

from bot import jsonsafe
from bot.channels.base import DeliveryFailed, DeliveryReceipt, DeliveryUncertain, OutboundChannel
from bot.channels.credentials import TelegramCredentials
from bot.channels.webhooks import Scrubber, provider_text, same_secret, transport_failure
from bot.conversation import ConversationFlow
from bot.domain import CustomerClaims, InboundMessage, OutboundMessage

log = logging.getLogger(__name__)

NAME = "telegram"
MAX_TEXT = 4096          # Telegram's limit for one message
MAX_CALLBACK_DATA = 64   # bytes of a button's callback_data
ALLOWED_UPDATES = ["message", "callback_query"]


def derived_secret(access_token: str) -> str:
    """A webhook secret only Baton and Telegram know (its characters are the ones Telegram allows)."""
    return hashlib.sha256(b"baton-telegram-webhook:" + access_token.encode("utf-8")).hexdigest()


def inline_keyboard(buttons: List[Dict[str, Any]]) -> InlineKeyboardMarkup:
    """Rasa buttons as an inline keyboard; a payload too long for callback_data sends the title instead."""
    markup = InlineKeyboardMarkup()
    for button in buttons:
        title = str(button.get("title") or button.get("payload") or "?")
        data = str(button.get("payload") or title)
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
            data = title.encode("utf-8")[:MAX_CALLBACK_DATA].decode("utf-8", "ignore")
        markup.row(InlineKeyboardButton(title, callback_data=data))
    return markup


def chunks(text: str, size: int = MAX_TEXT) -> List[str]:
    """Split a long text at line breaks where it can (Telegram refuses messages over 4,096 characters)."""
    parts: List[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    return parts + [text]


def update_text(message: Dict[str, Any]) -> str:
    """A Telegram message's text, with what it carries besides text listed."""
    parts = [message.get("text") or message.get("caption") or ""]
    if message.get("photo"):
        parts.append("[photo]")
    for kind in ("document", "audio", "video", "animation"):
        item = message.get(kind)
        if isinstance(item, dict):
            name = item.get("file_name") or kind
            size = f", {item['file_size']} bytes" if item.get("file_size") else ""
            parts.append(f"[attachment: {name} ({item.get('mime_type') or kind}{size})]")
    if message.get("voice"):
        parts.append("[voice message]")
    if isinstance(message.get("sticker"), dict):
        parts.append(f"[sticker {message['sticker'].get('emoji') or ''}]".replace(" ]", "]"))
    location = message.get("location")
    if isinstance(location, dict):
        parts.append(f"[location: {location.get('latitude')}, {location.get('longitude')}]")
    contact = message.get("contact")
    if isinstance(contact, dict):
        parts.append(f"[contact: {contact.get('phone_number')}]")
    return "\n".join(p for p in parts if p)


class TelegramChannel(OutboundChannel):
    name = NAME
    answers_in_turn = False
    at_most_once = True

    def __init__(self, credentials: TelegramCredentials, flow: ConversationFlow, max_chars: int,
                 scrub: Scrubber) -> None:
        self.credentials = credentials
        self.flow = flow
        self.max_chars = max_chars
        self.secret = credentials.secret_token or derived_secret(credentials.access_token)
        self.scrub = scrub.also(credentials.access_token, self.secret)
        self._bot: Optional[Bot] = None
        self._registering: Optional[asyncio.Task] = None

    # ---- lifecycle -------------------------------------------------------------------

    def _api(self) -> Bot:
        if self._bot is None:  # created on the running loop: its aiohttp session belongs to it
            self._bot = Bot(self.credentials.access_token, timeout=self.credentials.timeout_seconds,
                            server=TelegramAPIServer.from_base(self.credentials.base_url))
        return self._bot

    async def start(self) -> None:
        if self.credentials.webhook_url:
            # In the background: Telegram being slow or down must not hold Baton's start-up.
            self._registering = asyncio.get_running_loop().create_task(self.register_webhook())

    async def register_webhook(self) -> bool:
        """Tell Telegram where to post updates, and the secret to post them with."""
        try:
            await self._call(self._api().request("setWebhook", {
                "url": self.credentials.webhook_url, "secret_token": self.secret,
                "allowed_updates": json.dumps(ALLOWED_UPDATES)}))
        except DeliveryFailed as exc:
            log.error("telegram: the webhook could not be registered: %s", exc)
            return False
        log.info("telegram: webhook registered")
        return True

    async def stop(self) -> None:
        if self._registering is not None:
            self._registering.cancel()
            await asyncio.gather(self._registering, return_exceptions=True)
        if self._bot is not None:
            await self._bot.close()
            self._bot = None

    # ---- inbound ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"/webhooks/{NAME}/", self.health)
        app.router.add_post(f"/webhooks/{NAME}/webhook", self.receive)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def receive(self, request: web.Request) -> web.Response:
        if not same_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), self.secret):
            log.warning("telegram: refused an update without the webhook's secret token")
            raise web.HTTPForbidden(text="invalid or missing X-Telegram-Bot-Api-Secret-Token")
        try:
            update = jsonsafe.loads(await request.read())
        except jsonsafe.BadJson:
            raise web.HTTPBadRequest(text="the update is not JSON")
        if not isinstance(update, dict):
            raise web.HTTPBadRequest(text="the update is not a JSON object")
        inbound = self.inbound(update)
        if inbound is not None:
            await self.flow.accept(inbound)
        callback = update.get("callback_query")
        if isinstance(callback, dict) and callback.get("id"):
            # Answering the tap in the webhook's response: Telegram makes this call itself.
            return web.json_response({"method": "answerCallbackQuery", "callback_query_id": str(callback["id"])})
        return web.Response(status=200, text="")

    def inbound(self, update: Dict[str, Any]) -> Optional[InboundMessage]:
        """One update as Baton's inbound message; None for updates that carry no customer message."""
        update_id = update.get("update_id")
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            message, sender, text = callback.get("message") or {}, callback.get("from") or {}, callback.get("data")
        elif isinstance(update.get("message"), dict):
            message = update["message"]
            sender, text = message.get("from") or {}, update_text(message)
        else:
            return None   # edits, channel posts, polls…: nothing a customer said to the bot
        chat = message.get("chat") or {}
        if update_id is None or chat.get("id") is None:
            return None
        text = provider_text(text, self.max_chars)
        if not text:
            return None
        name = " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p) or None
        contact = message.get("contact") if isinstance(message.get("contact"), dict) else {}
        # Telegram sets contact.user_id to the sender's own id only when they share their own number.
        own_number = bool(contact.get("phone_number")) and contact.get("user_id") == sender.get("id")
        phone = contact.get("phone_number") if own_number else None
        if phone and not phone.startswith("+"):
            phone = "+" + phone
        claims = CustomerClaims(name=name, phone=phone, phone_verified=own_number)
        metadata = {k: v for k, v in (("username", sender.get("username")),
                                      ("language", sender.get("language_code"))) if v}
        return InboundMessage(channel=NAME, external_id=str(chat["id"]), text=text,
                              channel_message_id=str(update_id), metadata=metadata, customer=claims)

    # ---- outbound --------------------------------------------------------------------

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self._send_parts(external_id, chunks(text))

    async def send_buttons(self, external_id: str, message: OutboundMessage,
                           idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        sent = await self._call(self._api().send_message(external_id, message.text[:MAX_TEXT] or "…",
                                                         reply_markup=inline_keyboard(message.buttons)))
        return DeliveryReceipt(provider_message_id=str(sent.message_id))

    async def send_image(self, external_id: str, message: OutboundMessage,
                         idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        sent = await self._call(self._api().send_photo(external_id, message.image,
                                                       caption=(message.text or None) and message.text[:1024]))
        return DeliveryReceipt(provider_message_id=str(sent.message_id))

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        if message.image and message.text and not message.buttons:
            return await self.send_image(external_id, message, idempotency_key)  # the text as its caption
        return await super().deliver(external_id, message, idempotency_key)

    async def typing(self, external_id: str, typing: bool) -> None:
        if typing:
            try:
                await self._call(self._api().send_chat_action(external_id, "typing"))
            except DeliveryFailed as exc:
                log.info("telegram: typing indicator not shown: %s", exc)

    async def _send_parts(self, chat_id: str, parts: List[str]) -> DeliveryReceipt:
        sent = None
        for number, part in enumerate(parts):
            try:
                sent = await self._call(self._api().send_message(chat_id, part))
            except DeliveryFailed as exc:
                if number == 0:
                    raise
                # Re-sending would repeat the parts already shown.
                raise DeliveryUncertain(f"only {number} of {len(parts)} parts were sent: {exc}")
        return DeliveryReceipt(provider_message_id=str(sent.message_id))

    async def _call(self, request) -> Any:
        """One Bot API call, its failure classified: refused, unavailable, or an unknown outcome."""
        try:
            return await asyncio.wait_for(request, self.credentials.timeout_seconds)
        except (tg.RetryAfter, tg.RestartingTelegram) as exc:
            raise DeliveryFailed(self.scrub(f"Telegram asked to wait: {exc}"))
        except tg.NetworkError as exc:
            cause = exc.__context__
            if isinstance(cause, ClientConnectorError) or not isinstance(cause, ClientError):
                # Never connected, or Telegram answered with something other than JSON (a proxy's 5xx page).
                raise DeliveryFailed(self.scrub(f"Telegram is unavailable: {exc}"))
            raise transport_failure("Telegram", cause, self.scrub)
        except (tg.BadRequest, tg.Unauthorized, tg.NotFound, tg.ConflictError, tg.MigrateToChat,
                tg.ValidationError) as exc:
            raise DeliveryFailed(self.scrub(f"Telegram refused the message: {exc}"), retry=False)
        except tg.TelegramAPIError as exc:   # a 5xx answer
            raise DeliveryFailed(self.scrub(f"Telegram is unavailable: {exc}"))
        except (asyncio.TimeoutError, ClientError, OSError) as exc:
            raise transport_failure("Telegram", exc, self.scrub)
