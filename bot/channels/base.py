"""The contract every channel keeps, and the registry outbound delivery uses.

A channel is one module: a name, an inbound route that turns the provider's payload into one
`InboundMessage`, and an `OutboundChannel` whose `deliver` sends an `OutboundMessage`. What a
channel cannot show degrades to text (as Rasa's `OutputChannel` does): buttons become numbered
lines, an image its URL.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from bot.domain import OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the provider said when it accepted a message (its id, for status callbacks)."""

    provider_message_id: Optional[str] = None
    provider_status: Optional[str] = None   # what the provider said at once, e.g. Twilio's "queued"


class DeliveryFailed(Exception):
    """The provider refused or could not be reached; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class DeliveryUncertain(DeliveryFailed):
    """The request may have reached the provider (a timeout or a dropped connection after it was sent).

    On a channel that is `at_most_once` the worker never re-sends such a message by itself: the
    provider may already have delivered it. A later status report from the provider settles it;
    otherwise an agent decides, with the retry button.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retry=False)


class OutboundChannel:
    """Base outbound channel: override `send_text`, and the rich sends where the channel has them."""

    name: str = ""
    # REST and web chat return (or emit) a live turn's replies themselves; other channels
    # (SMS, messengers) get every reply through delivery.
    answers_in_turn: bool = False
    # True when the provider cannot de-duplicate a re-sent message (no idempotency key: SMS,
    # messengers, e-mail): a send whose outcome is unknown is then never repeated automatically.
    at_most_once: bool = False
    # True when the channel shows a waiting customer a live status (the web widget's waiting state);
    # other channels get a stored notice now and then instead (bot/waiting).
    shows_wait_status: bool = False
    # True when the channel shows the satisfaction question as a control the customer answers (the widget).
    shows_rating: bool = False

    async def start(self) -> None:
        """Begin background work (polling a mailbox, registering a webhook); called at start-up."""

    async def stop(self) -> None:
        """End background work and close client sessions; called at shutdown."""

    async def agent_reply_refusal(self, conversation_id: int) -> Optional[str]:
        """Why an agent's reply cannot reach this customer now (a messaging window closed), or None."""
        return None

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        if message.buttons:
            return await self.send_buttons(external_id, message, idempotency_key)
        if message.image and not message.text:
            return await self.send_image(external_id, message, idempotency_key)
        receipt = None
        if message.text:
            receipt = await self.send_text(external_id, message.text, message, idempotency_key)
        if message.image:
            receipt = await self.send_image(external_id, message, idempotency_key) or receipt
        if message.custom is not None and not message.text and not message.image:
            receipt = await self.send_custom(external_id, message, idempotency_key)
        return receipt

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        raise NotImplementedError

    async def send_buttons(self, external_id: str, message: OutboundMessage,
                           idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self.send_text(external_id, text_with_options(message.text, message.buttons), message,
                                    idempotency_key)

    async def send_image(self, external_id: str, message: OutboundMessage,
                         idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self.send_text(external_id, f"Image: {message.image}", message, idempotency_key)

    async def send_custom(self, external_id: str, message: OutboundMessage,
                          idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        return await self.send_text(external_id, json.dumps(message.custom), message, idempotency_key)

    async def typing(self, external_id: str, typing: bool) -> None:
        """Show or hide a typing indicator, where the channel has one."""

    async def show_wait_status(self, external_id: str, status: Dict[str, Any]) -> None:
        """Show a waiting customer their place, estimate and availability, where the channel can."""


def text_with_options(text: str, buttons: List[Dict[str, Any]]) -> str:
    """Buttons as numbered lines, for channels that only show text (Rasa's default)."""
    lines = [text] if text else []
    lines += [f"{i}: {b.get('title') or b.get('payload')}" for i, b in enumerate(buttons, start=1)]
    return "\n".join(lines)


def rasa_output(message: OutboundMessage) -> Dict[str, Any]:
    """A message in Rasa's channel-neutral output shape (text, buttons, image, custom)."""
    out: Dict[str, Any] = {}
    if message.text:
        out["text"] = message.text
    if message.buttons:
        out["buttons"] = message.buttons
    if message.image:
        out["image"] = message.image
    if message.custom is not None:
        out["custom"] = message.custom
    return out


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: Dict[str, OutboundChannel] = {}

    def register(self, channel: OutboundChannel) -> None:
        self._channels[channel.name] = channel

    def get(self, name: str) -> Optional[OutboundChannel]:
        return self._channels.get(name)

    def names(self) -> List[str]:
        return sorted(self._channels)

    async def start_all(self) -> None:
        for channel in self._channels.values():
            await channel.start()

    async def stop_all(self) -> None:
        for channel in self._channels.values():
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)


def error_body(code: str, text: str) -> Dict[str, str]:
    return {"error": code, "message": text}
