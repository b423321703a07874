"""Outbound delivery: messages reach the customer on the customer's own channel, through a durable outbox.

`OutboundDelivery` is a listener: it decides from the facts of an event which messages need
delivering (agent replies, notices, and bot replies nobody is waiting on) and queues them in
the outbox table. `OutboxWorker` sends what is due, retries with exponential backoff when a
provider fails, gives up after the last try with the provider's error, and publishes each
change so consoles show it. `DeliveryReports` records what providers report afterwards
(delivered, read, failed) and publishes that too.

Never sent twice. A provider that answered with an error, or could not be connected to, did
not take the message: trying again is safe. A send whose outcome is unknown (the request went
out, then a timeout or a dropped connection) is different on channels whose provider has no
idempotency key (`at_most_once`: SMS, WhatsApp, Telegram, Messenger, e-mail): the provider may
have delivered it, and a blind re-send is the duplicate a customer sees. Such an item is marked
failed with the reason and is not re-sent by the worker; when the provider later reports the
message (Twilio calls back a URL naming the outbox item), the report marks it sent, and
otherwise an agent decides with the retry button. The same holds for an item whose worker
died mid-send (its lease expired). Channels that pass an idempotency key the receiver honours
(the REST callback's `Idempotency-Key`) keep retrying unknown outcomes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Optional

from datetime import datetime
from typing import List

from bot.channels.base import ChannelRegistry, DeliveryFailed, DeliveryUncertain
from bot.domain import OutboundMessage
from bot.events import DomainEvent, EventBus, EventName
from bot.store.conversations import ConversationStore, NotFound
from bot.store.outbox import DeliveryState, OutboxEntry, OutboxStore
from bot.views import IdentityView

log = logging.getLogger(__name__)

DELIVERED_EVENTS = (EventName.AGENT_REPLIED, EventName.ASSIGNED, EventName.HANDED_BACK,
                    EventName.BOT_REPLIED, EventName.HANDED_OFF, EventName.WAIT_NOTICE, EventName.RESOLVED,
                    EventName.AGENT_JOINED)


class IdentityCache:
    """A conversation's channel identity never changes: read it once."""

    def __init__(self, conversations: ConversationStore, size: int = 10_000) -> None:
        self.conversations = conversations
        self.size = size
        self._known: "OrderedDict[int, IdentityView]" = OrderedDict()

    async def of(self, conversation_id: int) -> IdentityView:
        identity = self._known.get(conversation_id)
        if identity is None:
            identity = await self.conversations.identity_of(conversation_id)
            self._known[conversation_id] = identity
            if len(self._known) > self.size:
                self._known.popitem(last=False)
        return identity


class OutboundDelivery:
    """Listener: queue every customer-visible message that the customer has not been answered with."""

    def __init__(self, identities: IdentityCache, channels: ChannelRegistry, outbox: OutboxStore,
                 worker: "OutboxWorker") -> None:
        self.identities = identities
        self.channels = channels
        self.outbox = outbox
        self.worker = worker

    async def __call__(self, event: DomainEvent) -> None:
        visible = [m for m in event.messages if m.customer_visible]
        if not visible:
            return
        identity = await self.identities.of(event.conversation_id)
        channel = self.channels.get(identity.channel)
        if channel is None:
            log.error("no outbound channel %r for conversation %s", identity.channel, event.conversation_id)
            return
        queued = False
        for message in visible:
            answered_in_turn = (channel.answers_in_turn and message.in_reply_to_id is not None
                                and event.data.get("live", False))
            if answered_in_turn:
                continue
            queued = await self.outbox.enqueue(message.id, event.conversation_id, identity.channel,
                                               identity.external_id) or queued
        if queued:
            self.worker.kick()


class TypingRelay:
    """Listener: an agent's typing indicator goes to the customer's channel (ephemeral, no outbox)."""

    def __init__(self, identities: IdentityCache, channels: ChannelRegistry) -> None:
        self.identities = identities
        self.channels = channels

    async def __call__(self, event: DomainEvent) -> None:
        if event.data.get("who") != "agent":
            return
        try:
            identity = await self.identities.of(event.conversation_id)
        except NotFound:
            return
        channel = self.channels.get(identity.channel)
        if channel is not None:
            await channel.typing(identity.external_id, bool(event.data.get("typing")))


class OutboxWorker:
    """Sends due outbox items; one per process, several processes share the table safely."""

    def __init__(self, outbox: OutboxStore, conversations: ConversationStore, channels: ChannelRegistry,
                 bus: EventBus, max_attempts: int = 8, base_delay: float = 1.0, max_delay: float = 300.0,
                 send_timeout: float = 20.0) -> None:
        self.outbox = outbox
        self.conversations = conversations
        self.channels = channels
        self.bus = bus
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.send_timeout = send_timeout
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._stopping = False

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the current round, then stop. Cancelling mid-query would strand a pooled connection."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except (asyncio.TimeoutError, Exception):
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    def backoff(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.send_due()
                wait = await self._seconds_until_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker: a round failed; trying again shortly")
                wait = 5.0
            if self._stopping:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def _seconds_until_due(self) -> float:
        from datetime import datetime, timezone

        due = await self.outbox.next_due_at()
        if due is None:
            return 30.0
        return min(30.0, max(0.05, (due - datetime.now(timezone.utc)).total_seconds()))

    async def send_due(self) -> int:
        """Send everything due now; returns how many items were tried."""
        tried = 0
        while True:
            batch = await self.outbox.claim_due(limit=20, lease_seconds=self.send_timeout * 3)
            if not batch:
                return tried
            await asyncio.gather(*(self._send(item) for item in batch))
            tried += len(batch)

    async def _send(self, item: OutboxEntry) -> None:
        channel = self.channels.get(item.channel)
        if channel is not None and channel.at_most_once and item.reclaimed:
            await self._uncertain(item, "the worker sending it stopped mid-send, so it may have been delivered; "
                                        "not re-sent automatically")
            return
        try:
            if channel is None:
                raise DeliveryFailed(f"channel {item.channel!r} is not configured", retry=False)
            view = await self.conversations.message(item.message_id)
            receipt = await asyncio.wait_for(
                channel.deliver(item.external_id, OutboundMessage.from_view(view),
                                idempotency_key=idempotency_key(item.id)),
                self.send_timeout)
        except asyncio.CancelledError:
            raise
        except NotFound:
            await self.outbox.mark_failed(item.id, "the message no longer exists")
            return
        except DeliveryUncertain as exc:
            await self._uncertain(item, str(exc))
            return
        except asyncio.TimeoutError as exc:
            if channel is not None and channel.at_most_once:
                await self._uncertain(item, f"the provider did not answer within {self.send_timeout:g}s, so it "
                                            "may have been delivered; not re-sent automatically")
            else:
                await self._failed(item, exc)
            return
        except Exception as exc:
            await self._failed(item, exc)
            return
        state = await self.outbox.mark_sent(item.id, receipt.provider_message_id if receipt else None,
                                            receipt.provider_status if receipt else None)
        publish_delivery(self.bus, state)

    async def _uncertain(self, item: OutboxEntry, error: str) -> None:
        log.error("delivery of message %s has an unknown outcome; not re-sent: %s", item.message_id, error)
        publish_delivery(self.bus, await self.outbox.mark_uncertain(item.id, error))

    async def _failed(self, item: OutboxEntry, exc: Exception) -> None:
        error = str(exc) or type(exc).__name__
        if isinstance(exc, asyncio.TimeoutError):
            error = f"the provider did not answer within {self.send_timeout:g}s"
        retry = not isinstance(exc, DeliveryFailed) or exc.retry
        if retry and item.attempts < self.max_attempts:
            delay = self.backoff(item.attempts)
            log.warning("delivery of message %s failed (attempt %s): %s; retrying in %.0fs",
                        item.message_id, item.attempts, error, delay)
            await self.outbox.retry_later(item.id, error, delay)
            self._changed(item, "retrying", error)
        else:
            log.error("delivery of message %s failed for good after %s attempts: %s",
                      item.message_id, item.attempts, error)
            await self.outbox.mark_failed(item.id, error)
            self._changed(item, "failed", error)

    def _changed(self, item: OutboxEntry, status: str, error: Optional[str] = None) -> None:
        self.bus.publish(DomainEvent(EventName.DELIVERY_CHANGED, item.conversation_id, data={
            "message_id": item.message_id, "status": status, "error": error, "attempts": item.attempts}))


def idempotency_key(item_id: int) -> str:
    """The key a send of an outbox item carries; a provider's report may name the item by it."""
    return f"baton-{item_id}"


def item_of_key(key: Optional[str]) -> Optional[int]:
    if not key or not key.startswith("baton-") or not key[6:].isdigit():
        return None
    return int(key[6:])


def publish_delivery(bus: EventBus, state: DeliveryState) -> None:
    """Consoles show every change of a message's delivery."""
    bus.publish(DomainEvent(EventName.DELIVERY_CHANGED, state.conversation_id, data={
        "message_id": state.message_id, "status": state.status, "error": state.error,
        "attempts": state.attempts, "provider_status": state.provider_status}))


class DeliveryReports:
    """What providers report after accepting a message (Twilio status callbacks, Messenger receipts)."""

    def __init__(self, outbox: OutboxStore, bus: EventBus) -> None:
        self.outbox = outbox
        self.bus = bus

    async def provider_status(self, channel: str, provider_status: str, *, idempotency_key: Optional[str] = None,
                              provider_message_id: Optional[str] = None,
                              error: Optional[str] = None) -> Optional[DeliveryState]:
        item_id = item_of_key(idempotency_key)
        if item_id is None and not provider_message_id:
            return None
        state = await self.outbox.record_provider_status(channel, provider_status, item_id=item_id,
                                                         provider_message_id=provider_message_id, error=error)
        if state is not None:
            publish_delivery(self.bus, state)
        return state

    async def read_until(self, channel: str, external_id: str, until: datetime,
                         provider_status: str = "read") -> List[DeliveryState]:
        states = await self.outbox.record_read_until(channel, external_id, until, provider_status)
        for state in states:
            publish_delivery(self.bus, state)
        return states
