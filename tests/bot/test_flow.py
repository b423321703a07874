"""The customer's turn (ConversationFlow) with a fake engine and a real store: every verdict and failure."""

from __future__ import annotations

import asyncio
import uuid
from typing import List

import pytest

from bot.conversation import HANDOFF_TEXT, REPHRASE_TEXT, ConversationFlow
from bot.domain import AwaitedSlot, BotReply, ConversationStatus, CustomerClaims, InboundMessage, SenderKind, Verdict
from bot.events import DomainEvent, EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.state_machine import Transition


class Recorder:
    def __init__(self) -> None:
        self.events: List[DomainEvent] = []

    async def __call__(self, event: DomainEvent) -> None:
        self.events.append(event)

    def names(self, conversation_id=None) -> List[EventName]:
        return [e.name for e in self.events if conversation_id in (None, e.conversation_id)]


@pytest.fixture
def recorder(bus) -> Recorder:
    recorder = Recorder()
    bus.subscribe(recorder)
    return recorder


@pytest.fixture
def flow(store, fake, bus) -> ConversationFlow:
    policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.7, ambiguity_margin=0.1, max_consecutive_misses=2,
                                        always_human_intents=("complaint",),
                                        business_rule_keywords=("chargeback",)))
    return ConversationFlow(store.conversations, fake, policy, bus, model_wait_seconds=0.5)


def said(text: str, who: str = "", message_id: str = None, **kwargs) -> InboundMessage:
    return InboundMessage(channel="rest", external_id=who or f"unit-{uuid.uuid4().hex[:8]}", text=text,
                          channel_message_id=message_id, **kwargs)


async def test_a_confident_message_is_answered_and_stored(flow, store, bus, recorder):
    result = await flow.handle(said("where is my order 12345?"))
    assert result.decision.verdict is Verdict.ANSWER and result.status is ConversationStatus.BOT
    assert [r.text for r in result.replies] == ["Let me check that order for you."]
    messages = await store.conversations.messages(result.conversation_id)
    assert [m.sender for m in messages] == [SenderKind.CUSTOMER, SenderKind.BOT]
    assert messages[0].nlu["intent"] == "order_status" and messages[0].nlu["entities"][0]["value"] == "12345"
    assert messages[1].in_reply_to_id == messages[0].id
    await bus.drain()
    assert recorder.names(result.conversation_id) == [EventName.CONVERSATION_OPENED, EventName.MESSAGE_RECEIVED,
                                                      EventName.BOT_REPLIED]
    replied = recorder.events[-1]
    assert replied.data == {"verdict": "answer", "live": True} and replied.messages[0].text == result.replies[0].text


async def test_buttons_are_kept_with_the_reply(flow, store):
    result = await flow.handle(said("hi"))
    assert result.replies[0].payload == {"buttons": [{"title": "Track my order", "payload": "/order_status"}]}


@pytest.mark.parametrize("text,reason,priority", [
    ("I want to talk to a person", "human_requested", 1),
    ("this is outrageous", "always_human_intent", 2),
    ("what about a chargeback", "business_rule", 2),
])
async def test_requests_for_a_person_and_rules_hand_off_at_once(flow, store, fake, bus, recorder, text, reason,
                                                                 priority):
    result = await flow.handle(said(text))
    assert result.status is ConversationStatus.QUEUED and result.decision.reason.value == reason
    summary = await store.conversations.summary(result.conversation_id)
    assert summary.handoff_reason == reason and summary.priority == priority
    assert summary.handoff_message_id == result.customer_message_id
    notice = result.replies[-1]
    assert notice.sender is SenderKind.SYSTEM and notice.payload["queue_position"] >= 1
    assert notice.text == HANDOFF_TEXT.format(position=notice.payload["queue_position"])
    # The bot keeps the message as context and goes quiet; it never ran its dialogue.
    key = (await store.conversations.get(result.conversation_id)).tracker_key
    assert (key, text, True) in fake.called("record_customer")
    assert not [c for c in fake.called("respond") if c[0] == key]
    await bus.drain()
    assert recorder.names(result.conversation_id)[-1] is EventName.HANDED_OFF


async def test_a_miss_is_rephrased_once_then_handed_off(flow, store):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    first = await flow.handle(said("asdfgh", who))
    assert first.decision.verdict is Verdict.REPHRASE and first.status is ConversationStatus.BOT
    assert first.replies[0].text == "Sorry, I didn't quite get that. Could you rephrase?"
    assert (await store.conversations.get(first.conversation_id)).consecutive_misses == 1
    second = await flow.handle(said("qwerty zxcv", who))
    assert second.status is ConversationStatus.QUEUED and second.decision.reason.value == "repeated_fallback"


async def test_an_answer_resets_the_miss_counter(flow, store):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    await flow.handle(said("asdfgh", who))
    await flow.handle(said("hi", who))
    third = await flow.handle(said("qwerty zxcv", who))
    assert third.decision.verdict is Verdict.REPHRASE  # a fresh first miss, not the second in a row


async def test_a_rephrase_without_bot_text_uses_batons_own(flow, fake):
    fake.replies["nlu_fallback"] = []
    result = await flow.handle(said("asdfgh"))
    assert [r.text for r in result.replies] == [REPHRASE_TEXT]


@pytest.mark.parametrize("failure,reason", [("crash", "bot_error"), ("timeout", "bot_timeout"),
                                            ("unavailable", "bot_unavailable")])
async def test_any_bot_failure_becomes_a_handoff_never_a_lost_message(flow, store, fake, failure, reason):
    fake.fail_respond = failure
    result = await flow.handle(said("where is my order 12345?"))
    assert result.status is ConversationStatus.QUEUED and result.decision.reason.value == reason
    messages = await store.conversations.messages(result.conversation_id)
    assert messages[0].text == "where is my order 12345?" and messages[0].nlu["intent"] == "order_status"


async def test_a_parse_failure_hands_off_and_keeps_the_message(flow, store, fake):
    fake.fail_parse = "crash"
    try:
        result = await flow.handle(said("where is my order 12345?"))
    finally:
        fake.fail_parse = None
    assert result.decision.reason.value == "bot_error"
    messages = await store.conversations.messages(result.conversation_id)
    assert messages[0].nlu is None and messages[0].text == "where is my order 12345?"


async def test_an_empty_answer_is_a_miss_not_an_answer(flow, fake):
    result = await flow.handle(said("silence please"))
    assert result.decision.verdict is Verdict.REPHRASE and result.replies[0].text == REPHRASE_TEXT


async def test_while_a_person_owns_it_the_bot_is_silent_but_listening(flow, store, fake):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await flow.handle(said("I want to talk to a person", who))
    later = await flow.handle(said("hi", who))
    assert later.replies == [] and later.status is ConversationStatus.QUEUED
    key = (await store.conversations.get(handed.conversation_id)).tracker_key
    assert (key, "hi", False) in fake.called("record_customer")
    assert not [c for c in fake.called("respond") if c[0] == key]


async def test_a_duplicate_delivery_returns_the_first_answer_and_stores_nothing(flow, store):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    first = await flow.handle(said("hi", who, message_id="m-1"))
    again = await asyncio.gather(*(flow.handle(said("hi", who, message_id="m-1")) for _ in range(3)))
    assert all(r.duplicate and [m.id for m in r.replies] == [m.id for m in first.replies] for r in again)
    assert len(await store.conversations.messages(first.conversation_id)) == 2


async def test_message_ids_are_scoped_to_the_sender(flow, store):
    mine = await flow.handle(said("where is my order 12345?", message_id="shared-7"))
    theirs = await flow.handle(said("hi", message_id="shared-7"))
    assert not theirs.duplicate and theirs.conversation_id != mine.conversation_id
    assert "order" not in " ".join(r.text for r in theirs.replies)


async def test_a_turn_cut_short_is_finished_when_the_message_comes_again(flow, store, fake):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    inbound = said("where is my order 12345?", who, message_id="crash-1")
    # The process died after the message was committed, before the bot answered.
    stored = await store.conversations.record_inbound(inbound)
    again = await flow.handle(inbound)
    assert again.duplicate and [r.text for r in again.replies] == ["Let me check that order for you."]
    assert again.customer_message_id == stored.message.id
    third = await flow.handle(inbound)
    assert [r.id for r in third.replies] == [r.id for r in again.replies]  # finished once, not again


async def test_interrupted_turns_are_found_and_finished_for_delivery(flow, store, bus, recorder):
    from datetime import datetime, timedelta, timezone

    stored = await store.conversations.record_inbound(said("hi", message_id="crash-2"))
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert stored.message.id in await store.conversations.unfinished_turns(older_than=later)
    result = await flow.finish_interrupted(stored.message.id)
    assert result is not None and result.replies
    assert stored.message.id not in await store.conversations.unfinished_turns(older_than=later)
    await bus.drain()
    replied = [e for e in recorder.events if e.conversation_id == stored.conversation.id][-1]
    assert replied.name is EventName.BOT_REPLIED and replied.data["live"] is False  # nobody awaits it
    assert await flow.finish_interrupted(stored.message.id) is None


async def test_messages_wait_for_a_loading_model(flow, fake):
    fake.start_loading()
    turn = asyncio.ensure_future(flow.handle(said("hi")))
    await asyncio.sleep(0.1)
    assert not turn.done()
    fake.finish_loading()
    result = await turn
    assert result.decision.verdict is Verdict.ANSWER


async def test_past_the_wait_the_customer_goes_to_a_person(flow, fake):
    fake.start_loading()
    try:
        result = await flow.handle(said("hi"))
    finally:
        fake.finish_loading()
    assert result.status is ConversationStatus.QUEUED and result.decision.reason.value == "bot_unavailable"


async def test_a_resolved_conversation_reopens_fresh_with_the_bot(flow, store, fake, bus, recorder):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await flow.handle(said("I want to talk to a person", who))
    await store.conversations.transition(handed.conversation_id, Transition.RESOLVE)
    back = await flow.handle(said("hi", who))
    assert back.conversation_id == handed.conversation_id and back.status is ConversationStatus.BOT
    summary = await store.conversations.summary(back.conversation_id)
    assert summary.handoff_reason is None and summary.priority == 0
    key = (await store.conversations.get(back.conversation_id)).tracker_key
    assert key in fake.called("resume")
    await bus.drain()
    assert EventName.CONVERSATION_REOPENED in recorder.names(back.conversation_id)


async def test_claims_are_kept_as_claims_and_signed_ids_as_verified(flow, store):
    claimed = await flow.handle(said("hi", customer=CustomerClaims(name="Ada", email="ada@example.com",
                                                                   shop_customer_id="C-1")))
    record = await store.conversations.get(claimed.conversation_id)
    profile = await store.conversations.customer_profile(record.customer_id)
    assert not profile.verified and profile.email is None and profile.shop_customer_id is None
    assert profile.claims == {"name": "Ada", "email": "ada@example.com", "shop_customer_id": "C-1"}
    signed = await flow.handle(said("hi", customer=CustomerClaims(email="eve@example.com", shop_customer_id="C-2",
                                                                  id_verified=True)))
    profile = await store.conversations.customer_profile((await store.conversations.get(
        signed.conversation_id)).customer_id)
    # The signature vouches for the id only: the e-mail sent with it stays a claim.
    assert profile.verified and profile.shop_customer_id == "C-2" and not profile.email_verified
    assert profile.claims == {"email": "eve@example.com"}


async def test_accepted_messages_are_committed_at_once_and_answered_in_the_background(flow, store, fake, bus,
                                                                                     recorder):
    who = f"sms-{uuid.uuid4().hex[:6]}"
    accepted = await flow.accept(InboundMessage("sms", who, "where is my order 12345?", channel_message_id="SM1"))
    stored = await store.conversations.messages(accepted.conversation_id)
    assert [m.text for m in stored][:1] == ["where is my order 12345?"]
    await flow.drain()
    messages = await store.conversations.messages(accepted.conversation_id)
    assert [m.sender for m in messages] == [SenderKind.CUSTOMER, SenderKind.BOT]
    await bus.drain()
    replied = [e for e in recorder.events if e.name is EventName.BOT_REPLIED][-1]
    assert replied.data["live"] is False   # nobody waits in the request: delivery sends it
    again = await flow.accept(InboundMessage("sms", who, "where is my order 12345?", channel_message_id="SM1"))
    await flow.drain()
    assert again.duplicate and len(await store.conversations.messages(accepted.conversation_id)) == 2


# ---- the bot's own question, several requests, failing custom actions ----------------------------

async def test_a_bare_answer_to_the_bots_question_is_answered_and_not_sent_for_review(flow, fake, store, bus,
                                                                                        recorder):
    fake.script["12345"] = ("affirm", 0.2)   # NLU has no idea what a bare number means…
    fake.replies["affirm"] = [BotReply(text="Thanks! Which e-mail did you order with?")]
    cold = await flow.handle(said("12345"))
    assert cold.decision.verdict is Verdict.REPHRASE   # …so out of the blue it is a miss
    fake.awaited = AwaitedSlot("order_form", "order_id", ("order_id",))   # the bot just asked for it
    result = await flow.handle(said("12345"))
    assert result.decision.verdict is Verdict.ANSWER and result.decision.answers_slot == "order_id"
    assert [r.text for r in result.replies] == ["Thanks! Which e-mail did you order with?"]
    await bus.drain()
    reviewed = [e.conversation_id for e in recorder.events if e.name is EventName.REVIEW_QUEUED]
    assert cold.conversation_id in reviewed and result.conversation_id not in reviewed


async def test_the_bots_question_is_only_looked_up_for_messages_that_could_answer_it(flow, fake):
    await flow.handle(said("hi"))
    assert fake.called("awaiting") == []   # no entity in "hi": nothing to ask the tracker
    await flow.handle(said("where is my order 12345?"))
    assert len(fake.called("awaiting")) == 1


async def test_two_requests_in_one_message_are_handed_off_not_half_answered(flow, fake, store):
    text = "where is my order 12345 and how do i reset my password"
    fake.script.update({text: ("order_status", 0.9), "where is my order 12345": ("order_status", 0.95),
                        "how do i reset my password": ("reset_password", 0.9)})
    result = await flow.handle(said(text))
    assert result.status is ConversationStatus.QUEUED
    assert result.decision.reason.value == "multiple_requests" and "reset_password 0.90" in result.decision.detail
    assert fake.called("respond") == []   # the bot said nothing about the first request alone


async def test_a_failing_custom_action_hands_off_as_bot_error_and_logs_the_message_once(flow, fake, store):
    fake.fail_respond = "action"
    result = await flow.handle(said("where is my order 12345?"))
    assert result.status is ConversationStatus.QUEUED and result.decision.reason.value == "bot_error"
    assert "CrmUnavailable" in result.decision.detail
    # Rasa already logged the message when it ran the action: the bot is only paused, not told it twice.
    key = (await store.conversations.get(result.conversation_id)).tracker_key
    assert fake.called("record_customer") == [] and fake.called("pause") == [key]
    messages = await store.conversations.messages(result.conversation_id)
    assert [m.sender for m in messages] == [SenderKind.CUSTOMER, SenderKind.SYSTEM]   # no half answer


async def test_a_tapped_button_reads_as_its_title_for_agents(flow, store):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    await flow.handle(said("hi", who))   # offers "Track my order" → /order_status
    tapped = await flow.handle(said("/order_status", who, metadata={"display_text": "Refund me $500"}))
    message = (await store.conversations.messages(tapped.conversation_id))[2]
    assert message.text == "/order_status" and message.payload == {"display_text": "Track my order"}
    # What the client claims it showed is never taken, nor kept as the conversation's metadata.
    summary = await store.conversations.summary(tapped.conversation_id)
    assert "display_text" not in summary.metadata
    typed = await flow.handle(said("/greet", who))   # not a button on offer: stays as typed
    assert (await store.conversations.message(typed.customer_message_id)).payload is None
