"""Never sent twice, and what providers report afterwards; identities linked only by proven details."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import pytest

from bot.agent_actions import ActionError, AgentActions
from bot.channels.base import ChannelRegistry, DeliveryReceipt, DeliveryUncertain, OutboundChannel
from bot.channels.delivery import DELIVERED_EVENTS, DeliveryReports, IdentityCache, OutboundDelivery, OutboxWorker
from bot.conversation import ConversationFlow
from bot.domain import CustomerClaims, InboundMessage, OutboundMessage, Role
from bot.handoff import HandoffPolicy, PolicyConfig
from tests.bot.test_flow import Recorder


class SmsLike(OutboundChannel):
    """A provider without an idempotency key; it can lose its answer, or hang."""

    name = "sms"
    at_most_once = True

    def __init__(self) -> None:
        self.sent: List[str] = []
        self.ids: List[str] = []   # the provider's message ids, unique as a provider's are
        self.lose_answer = 0
        self.hang = 0.0

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        self.sent.append(text)
        self.ids.append(f"P{uuid.uuid4().hex}")
        if self.hang:
            await asyncio.sleep(self.hang)
        if self.lose_answer:
            self.lose_answer -= 1
            raise DeliveryUncertain("the provider did not answer after the message was sent")
        return DeliveryReceipt(self.ids[-1], provider_status="accepted")


@pytest.fixture
def wiring(store, fake, bus):
    channels = ChannelRegistry()
    sms = SmsLike()
    channels.register(sms)
    worker = OutboxWorker(store.outbox, store.conversations, channels, bus, max_attempts=3, base_delay=0.0,
                          send_timeout=0.3)
    bus.subscribe(OutboundDelivery(IdentityCache(store.conversations), channels, store.outbox, worker),
                  *DELIVERED_EVENTS)
    recorder = Recorder()
    bus.subscribe(recorder)
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    return flow, worker, sms, recorder, DeliveryReports(store.outbox, bus)


async def greeted(flow, bus, worker, store) -> int:
    result = await flow.handle(InboundMessage("sms", f"+1555{uuid.uuid4().int % 10**7:07d}", "hi"))
    await bus.drain()
    return result.replies[0].id


async def test_an_unknown_outcome_is_not_resent_and_the_providers_report_settles_it(store, bus, wiring):
    flow, worker, sms, recorder, reports = wiring
    sms.lose_answer = 1
    message_id = await greeted(flow, bus, worker, store)
    for _ in range(3):
        await worker.send_due()
    assert len(sms.sent) == 1
    delivery = (await store.conversations.message(message_id)).delivery
    assert delivery["status"] == "failed" and "did not answer" in delivery["error"]

    item = (await store.outbox.claim_due()) or []
    assert item == []   # nothing due: the worker will not try again by itself
    state = await reports.provider_status("sms", "delivered", idempotency_key=f"baton-{await _item(store, message_id)}",
                                          provider_message_id=sms.ids[0])
    assert state.status == "sent" and state.provider_status == "delivered"
    await bus.drain()
    assert [e.data.get("provider_status") for e in recorder.events if e.data.get("message_id") == message_id][-1] == \
        "delivered"


async def _item(store, message_id: int) -> int:
    from sqlalchemy import select
    from bot.store.tables import OutboxItem

    async with store.outbox.sessions() as session:
        return (await session.execute(select(OutboxItem.id).where(OutboxItem.message_id == message_id))).scalar_one()


async def test_a_send_that_outlives_the_workers_timeout_is_not_resent(store, bus, wiring):
    flow, worker, sms, _, _ = wiring
    sms.hang = 1.0
    message_id = await greeted(flow, bus, worker, store)
    await worker.send_due()
    sms.hang = 0.0
    await worker.send_due()
    assert len(sms.sent) == 1
    delivery = (await store.conversations.message(message_id)).delivery
    assert delivery["status"] == "failed" and "may have been delivered" in delivery["error"]


async def test_an_item_whose_worker_died_mid_send_is_settled_not_resent(store, bus, wiring):
    flow, worker, sms, _, _ = wiring
    message_id = await greeted(flow, bus, worker, store)
    [claimed] = await store.outbox.claim_due(lease_seconds=0.0)   # a worker took it, then died
    assert not claimed.reclaimed
    await asyncio.sleep(0.01)
    await worker.send_due()
    assert sms.sent == []
    delivery = (await store.conversations.message(message_id)).delivery
    assert delivery["status"] == "failed" and "stopped mid-send" in delivery["error"]
    # An agent decides to send it again: then it goes out once.
    assert await store.outbox.retry_now(message_id) is not None
    await worker.send_due()
    assert len(sms.sent) == 1


async def test_reports_only_move_forward_and_a_failure_ends_it(store, bus, wiring):
    flow, worker, sms, _, reports = wiring
    message_id = await greeted(flow, bus, worker, store)
    await worker.send_due()
    assert (await store.conversations.message(message_id)).delivery["provider_status"] == "accepted"
    assert await reports.provider_status("sms", "read", provider_message_id=sms.ids[0])
    assert await reports.provider_status("sms", "delivered", provider_message_id=sms.ids[0]) is None   # late
    assert await reports.provider_status("sms", "read", provider_message_id="nobody's") is None
    assert (await store.conversations.message(message_id)).delivery == {
        "status": "sent", "error": None, "attempts": 1, "provider_status": "read"}

    other = await greeted(flow, bus, worker, store)
    await worker.send_due()
    failed = await reports.provider_status("sms", "failed", provider_message_id=sms.ids[-1],
                                           error="Twilio reports the message undelivered (error 30003)")
    assert failed.status == "failed"
    assert await reports.provider_status("sms", "delivered", provider_message_id=sms.ids[-1]) is None
    delivery = (await store.conversations.message(other)).delivery
    assert delivery["status"] == "failed" and "30003" in delivery["error"]


async def test_a_read_watermark_marks_everything_sent_before_it(store, bus, wiring):
    flow, worker, sms, _, reports = wiring
    customer = f"+1555{uuid.uuid4().int % 10**7:07d}"
    first = await flow.handle(InboundMessage("sms", customer, "hi"))
    second = await flow.handle(InboundMessage("sms", customer, "hi"))
    await bus.drain()
    await worker.send_due()
    changed = await reports.read_until("sms", customer, datetime.now(timezone.utc) + timedelta(seconds=1))
    assert {s.message_id for s in changed} == {first.replies[0].id, second.replies[0].id}
    assert await reports.read_until("sms", customer, datetime.now(timezone.utc)) == []


async def test_a_verified_phone_links_identities_and_a_claimed_one_does_not(store):
    number = f"+1555{uuid.uuid4().int % 10**7:07d}"
    sms = await store.conversations.record_inbound(InboundMessage(
        "twilio", number, "hi", customer=CustomerClaims(phone=number, phone_verified=True)))
    whatsapp = await store.conversations.record_inbound(InboundMessage(
        "whatsapp", f"whatsapp:{number}", "hi", customer=CustomerClaims(phone=number, phone_verified=True)))
    typed = await store.conversations.record_inbound(InboundMessage(
        "webchat", uuid.uuid4().hex, "hi", customer=CustomerClaims(phone=number)))
    assert whatsapp.conversation.customer_id == sms.conversation.customer_id
    assert typed.conversation.customer_id != sms.conversation.customer_id
    profile = await store.conversations.customer_profile(typed.conversation.customer_id)
    assert profile.phone is None and profile.claims["phone"] == number


async def test_a_reply_guard_refuses_before_anything_is_stored(store, fake, bus):
    async def closed(conversation):
        return "the window closed"

    actions = AgentActions(store.conversations, store.accounts, fake, bus, reply_guard=closed)
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    result = await flow.handle(InboundMessage("sms", uuid.uuid4().hex, "I want to talk to a person"))
    sam = await store.accounts.create(f"agent-{uuid.uuid4().hex[:8]}", "Sam", Role.AGENT, "!", 5)
    before = await store.conversations.messages(result.conversation_id)
    with pytest.raises(ActionError) as refused:
        await actions.reply(result.conversation_id, sam, "Hello?")
    assert (refused.value.code, refused.value.status, str(refused.value)) == ("channel_refused", 409,
                                                                               "the window closed")
    assert await store.conversations.messages(result.conversation_id) == before
    assert (await store.conversations.get(result.conversation_id)).status.value == "queued"   # not claimed
