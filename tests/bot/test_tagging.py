"""Conversation tags: by agents (cleaned, once), by rules (intent → tag), with every summary."""

from __future__ import annotations

import uuid

import pytest

from bot.conversation import ConversationFlow
from bot.domain import InboundMessage, Role
from bot.events import EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.tagging import TagError, Tagging, clean_rules, clean_tag
from tests.bot.test_flow import Recorder


@pytest.mark.parametrize("raw,tag", [("refund", "refund"), ("  Damaged item ", "damaged-item"), ("#VIP", "vip"),
                                     ("order_42", "order_42")])
def test_tags_are_short_lowercase_words(raw, tag):
    assert clean_tag(raw) == tag


@pytest.mark.parametrize("raw", ["", "   ", "-lead", "x" * 41, "<b>", "a/b", None, 7])
def test_anything_else_is_refused(raw):
    with pytest.raises(TagError):
        clean_tag(raw)


def test_rules_map_intents_to_clean_tags():
    assert clean_rules({"complaint": "Complaint", " request_human ": "wants human"}) == {
        "complaint": "complaint", "request_human": "wants-human"}
    with pytest.raises(TagError):
        clean_rules({"": "x"})


async def test_agents_tag_and_untag_and_rules_tag_as_customers_write(store, fake, bus):
    recorder = Recorder()
    bus.subscribe(recorder)
    tagging = Tagging(store.tags, bus, {"order_status": "orders"})
    bus.subscribe(tagging, EventName.MESSAGE_RECEIVED)
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "where is my order 12345?"))
    await bus.drain()
    assert (await store.conversations.summary(result.conversation_id)).tags == ["orders"]
    agent = await store.accounts.create(f"agent-{uuid.uuid4().hex[:8]}", "Ana", Role.AGENT, "!", 5)
    assert await tagging.tag(result.conversation_id, "VIP", agent) == "vip"
    await tagging.tag(result.conversation_id, "vip", agent)                 # twice: one tag, one event
    assert (await store.conversations.summary(result.conversation_id)).tags == ["orders", "vip"]
    await tagging.untag(result.conversation_id, "orders", agent)
    assert (await store.conversations.summary(result.conversation_id)).tags == ["vip"]
    await bus.drain()
    changes = [(e.data["tag"], e.data["added"], e.data["source"]) for e in recorder.events
               if e.name is EventName.TAGGED and e.conversation_id == result.conversation_id]
    assert changes == [("orders", True, "rule"), ("vip", True, "agent"), ("orders", False, "agent")]
    with pytest.raises(TagError) as missing:
        await tagging.tag(10 ** 9, "vip", agent)
    assert missing.value.status == 404
