"""Outbound delivery: what goes through the outbox, retries with backoff, exactly once, failures shown."""

from __future__ import annotations

import uuid
from typing import List, Optional

import pytest

from bot.agent_actions import AgentActions
from bot.channels.base import ChannelRegistry, DeliveryFailed, DeliveryReceipt, OutboundChannel
from bot.channels.delivery import DELIVERED_EVENTS, IdentityCache, OutboundDelivery, OutboxWorker
from bot.conversation import ConversationFlow
from bot.domain import InboundMessage, OutboundMessage, Role
from bot.handoff import HandoffPolicy, PolicyConfig
from tests.bot.test_flow import Recorder


class TextOnlyChannel(OutboundChannel):
    """A channel that only shows text (like SMS); it can be told to fail."""

    def __init__(self, name: str, answers_in_turn: bool) -> None:
        self.name = name
        self.answers_in_turn = answers_in_turn
        self.sent: List[tuple] = []
        self.failures: List[Exception] = []

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((external_id, text, idempotency_key))
        return DeliveryReceipt(f"provider-{len(self.sent)}")


@pytest.fixture
def wiring(store, fake, bus):
    channels = ChannelRegistry()
    inline, later = TextOnlyChannel("rest", answers_in_turn=True), TextOnlyChannel("sms", answers_in_turn=False)
    channels.register(inline)
    channels.register(later)
    worker = OutboxWorker(store.outbox, store.conversations, channels, bus, max_attempts=3, base_delay=0.0)
    bus.subscribe(OutboundDelivery(IdentityCache(store.conversations), channels, store.outbox, worker),
                  *DELIVERED_EVENTS)
    recorder = Recorder()
    bus.subscribe(recorder)
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    actions = AgentActions(store.conversations, store.accounts, fake, bus)
    return flow, actions, worker, inline, later, recorder


async def agent(store):
    return await store.accounts.create(f"agent-{uuid.uuid4().hex[:8]}", "Sam", Role.AGENT, "!", 5)


async def test_live_replies_go_back_in_the_turn_and_agent_replies_through_the_outbox(store, bus, wiring):
    flow, actions, worker, inline, _, _ = wiring
    who = f"unit-{uuid.uuid4().hex[:8]}"
    result = await flow.handle(InboundMessage("rest", who, "I want to talk to a person"))
    await bus.drain()
    assert await worker.send_due() == 0          # the handoff notice was returned with the turn
    sam = await agent(store)
    await actions.claim(result.conversation_id, sam)
    reply = await actions.reply(result.conversation_id, sam, "Hi, Sam here.")
    await bus.drain()
    assert await worker.send_due() == 2          # "Sam joined" and the reply
    assert [t for _, t, _ in inline.sent] == ["Sam joined the conversation.", "Hi, Sam here."]
    assert all(to == who for to, _, _ in inline.sent)
    assert (await store.conversations.message(reply.id)).delivery["status"] == "sent"


async def test_a_channel_without_in_turn_answers_gets_bot_replies_with_buttons_as_numbered_lines(store, bus, wiring):
    flow, _, worker, _, later, _ = wiring
    await flow.handle(InboundMessage("sms", "+15550001", "hi"))
    await bus.drain()
    await worker.send_due()
    assert later.sent[0][1] == "Hi! How can I help?\n1: Track my order"


async def test_a_failing_provider_is_retried_until_it_comes_back_and_sends_once(store, bus, wiring):
    flow, actions, worker, inline, _, recorder = wiring
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    sam = await agent(store)
    await actions.claim(result.conversation_id, sam)
    await bus.drain()
    await worker.send_due()
    inline.failures = [DeliveryFailed("HTTP 503"), TimeoutError()]
    reply = await actions.reply(result.conversation_id, sam, "Are you still there?")
    await bus.drain()
    for _ in range(3):
        await worker.send_due()
    sent = [t for _, t, _ in inline.sent if t == "Are you still there?"]
    assert sent == ["Are you still there?"]
    item = await store.conversations.message(reply.id)
    assert item.delivery["status"] == "sent" and item.delivery["attempts"] == 3
    await bus.drain()
    changes = [e.data["status"] for e in recorder.events if e.data.get("message_id") == reply.id]
    assert changes == ["retrying", "retrying", "sent"]


async def test_after_the_last_try_it_is_failed_with_the_providers_error_and_can_be_retried(store, bus, wiring):
    flow, actions, worker, inline, _, _ = wiring
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    sam = await agent(store)
    await actions.claim(result.conversation_id, sam)
    await bus.drain()
    await worker.send_due()
    inline.failures = [DeliveryFailed("HTTP 503")] * 3
    reply = await actions.reply(result.conversation_id, sam, "Hello?")
    await bus.drain()
    for _ in range(4):
        await worker.send_due()
    item = await store.conversations.message(reply.id)
    assert item.delivery == {"status": "failed", "error": "HTTP 503", "attempts": 3}
    assert await store.outbox.retry_now(reply.id) == result.conversation_id
    await worker.send_due()
    assert (await store.conversations.message(reply.id)).delivery["status"] == "sent"
    assert await store.outbox.retry_now(reply.id) is None   # only failed ones


async def test_a_refusal_that_cannot_succeed_is_not_retried(store, bus, wiring):
    flow, actions, worker, inline, _, _ = wiring
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    sam = await agent(store)
    await actions.claim(result.conversation_id, sam)
    await bus.drain()
    await worker.send_due()
    inline.failures = [DeliveryFailed("no callback URL configured", retry=False)]
    reply = await actions.reply(result.conversation_id, sam, "Hello?")
    await bus.drain()
    await worker.send_due()
    assert (await store.conversations.message(reply.id)).delivery["status"] == "failed"


async def test_a_message_is_queued_once_however_often_its_event_repeats(store, bus, wiring):
    flow, actions, worker, inline, _, _ = wiring
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    sam = await agent(store)
    await actions.claim(result.conversation_id, sam)
    reply = await actions.reply(result.conversation_id, sam, "Once")
    assert await store.outbox.enqueue(reply.id, result.conversation_id, "rest", "x") in (True, False)
    await bus.drain()
    assert await store.outbox.enqueue(reply.id, result.conversation_id, "rest", "x") is False
    await worker.send_due()
    assert [t for _, t, _ in inline.sent].count("Once") == 1
