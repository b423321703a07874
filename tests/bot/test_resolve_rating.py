"""Resolve with a closing message and the satisfaction question; the answer stored once, per agent."""

from __future__ import annotations

import uuid

import pytest

from bot.agent_actions import ActionError, AgentActions
from bot.conversation import ConversationFlow
from bot.domain import ConversationStatus, InboundMessage, Role, SenderKind
from bot.events import EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.ratings import RatingRefused, Ratings
from tests.bot.test_flow import Recorder


@pytest.fixture
def flow(store, fake, bus) -> ConversationFlow:
    return ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)


@pytest.fixture
def actions(store, fake, bus) -> AgentActions:
    return AgentActions(store.conversations, store.accounts, fake, bus,
                        rating_channels=lambda channel: channel == "webchat")


async def claimed(flow, actions, store, channel: str = "webchat"):
    result = await flow.handle(InboundMessage(channel, f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    agent = await store.accounts.create(f"agent-{uuid.uuid4().hex[:8]}", "Ana", Role.AGENT, "!", 5)
    await actions.claim(result.conversation_id, agent)
    return result.conversation_id, agent


async def test_resolve_says_goodbye_and_asks_the_one_question(flow, actions, store, bus):
    recorder = Recorder()
    bus.subscribe(recorder)
    conversation_id, ana = await claimed(flow, actions, store)
    resolved = await actions.resolve(conversation_id, ana, "  Glad I could help. Bye!  ", ask_rating=True)
    assert resolved.status is ConversationStatus.RESOLVED
    messages = await store.conversations.messages(conversation_id)
    closing, question = messages[-2:]
    assert closing.sender is SenderKind.AGENT and closing.text == "Glad I could help. Bye!" and closing.agent.id == ana.id
    assert question.sender is SenderKind.SYSTEM
    assert question.payload["rating_request"] == {"question": "How satisfied are you with the help you got today?",
                                                  "scale": 5, "agent_id": ana.id}
    await bus.drain()
    replied = [e for e in recorder.events if e.name is EventName.AGENT_REPLIED and e.conversation_id == conversation_id]
    assert [m.id for m in replied[-1].messages] == [closing.id]          # delivered like any reply
    [done] = [e for e in recorder.events if e.name is EventName.RESOLVED and e.conversation_id == conversation_id]
    assert [m.id for m in done.messages] == [question.id] and done.data["rating_asked"] is True


async def test_the_answer_is_stored_once_and_counted_for_the_agent(flow, actions, store, bus):
    conversation_id, ana = await claimed(flow, actions, store)
    await actions.resolve(conversation_id, ana, None, ask_rating=True)
    question = (await store.conversations.messages(conversation_id))[-1]
    ratings = Ratings(store.ratings, bus)
    rated = await ratings.rate(conversation_id, question.id, 4)
    assert rated.payload["rating_request"]["score"] == 4
    with pytest.raises(RatingRefused) as again:
        await ratings.rate(conversation_id, question.id, 1)
    assert again.value.code == "already_rated"
    mine = [a for a in await store.ratings.per_agent() if a.agent and a.agent.id == ana.id]
    assert [(a.ratings, a.average) for a in mine] == [(1, 4.0)]


@pytest.mark.parametrize("message_id,score,code", [
    (None, 3, "bad_message_id"), ("7", 3, "bad_message_id"), (1, 0, "bad_score"), (1, 6, "bad_score"),
    (1, True, "bad_score"), (1, 4.5, "bad_score"),
])
async def test_bad_answers_are_refused_with_a_reason(store, bus, message_id, score, code):
    with pytest.raises(RatingRefused) as refused:
        await Ratings(store.ratings, bus).rate(1, message_id, score)
    assert refused.value.code == code


async def test_only_a_question_of_ones_own_conversation_can_be_answered(flow, actions, store, bus):
    conversation_id, ana = await claimed(flow, actions, store)
    await actions.resolve(conversation_id, ana, None, ask_rating=True)
    question = (await store.conversations.messages(conversation_id))[-1]
    other, _ = await claimed(flow, actions, store)
    ratings = Ratings(store.ratings, bus)
    with pytest.raises(RatingRefused) as foreign:
        await ratings.rate(other, question.id, 5)              # someone else's question
    assert foreign.value.code == "not_a_question"
    agent_message = [m for m in await store.conversations.messages(conversation_id) if m.sender is SenderKind.SYSTEM][0]
    with pytest.raises(RatingRefused):
        await ratings.rate(conversation_id, agent_message.id, 5)   # a message that asked nothing


async def test_channels_without_a_rating_control_are_not_asked(flow, actions, store):
    conversation_id, ana = await claimed(flow, actions, store, channel="rest")
    await actions.resolve(conversation_id, ana, "Bye", ask_rating=True)
    last = (await store.conversations.messages(conversation_id))[-1]
    assert last.sender is SenderKind.AGENT and last.text == "Bye"


async def test_a_bad_closing_message_resolves_nothing(flow, actions, store):
    conversation_id, ana = await claimed(flow, actions, store)
    with pytest.raises(ActionError) as refused:
        await actions.resolve(conversation_id, ana, "x" * 20_000)
    assert refused.value.code == "too_long"
    assert (await store.conversations.get(conversation_id)).status is ConversationStatus.ASSIGNED


async def test_writing_again_after_resolution_is_a_fresh_bot_conversation(flow, actions, store):
    conversation_id, ana = await claimed(flow, actions, store)
    who = (await store.conversations.identity_of(conversation_id)).external_id
    await actions.resolve(conversation_id, ana, "Bye", ask_rating=True)
    again = await flow.handle(InboundMessage("webchat", who, "hi"))
    summary = await store.conversations.summary(again.conversation_id)
    assert summary.status is ConversationStatus.BOT and summary.assignee is None
    assert summary.handoff_reason is None and summary.priority == 0 and summary.queued_at is None
