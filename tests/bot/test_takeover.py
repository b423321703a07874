"""An agent takes over a conversation the bot is still handling: one transition, the bot silent at once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.agent_actions import ActionError, AgentActions
from bot.conversation import ConversationFlow
from bot.domain import ConversationStatus, InboundMessage, Role, SenderKind
from bot.events import EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.state_machine import InvalidTransition, Transition, next_status
from tests.bot.fakes import FakeEngine
from tests.bot.test_flow import Recorder


class SlowEngine(FakeEngine):
    """Holds `respond` until released: a bot turn that is still thinking when the agent steps in."""

    def __init__(self) -> None:
        super().__init__()
        self.thinking = asyncio.Event()
        self.release = asyncio.Event()

    async def respond(self, *args, **kwargs):
        self.thinking.set()
        await self.release.wait()
        return await super().respond(*args, **kwargs)


def said(text: str, who: str) -> InboundMessage:
    return InboundMessage("webchat", who, text)


@pytest.fixture
def policy() -> HandoffPolicy:
    return HandoffPolicy(PolicyConfig(confidence_threshold=0.7))


async def agent(store, role: Role = Role.AGENT):
    return await store.accounts.create(f"{role.value}-{uuid.uuid4().hex[:8]}", "Ana", role, "!", 5)


def test_only_a_bot_conversation_can_be_taken_over():
    assert next_status(ConversationStatus.BOT, Transition.TAKE_OVER) is ConversationStatus.ASSIGNED
    for status in (ConversationStatus.QUEUED, ConversationStatus.ASSIGNED, ConversationStatus.RESOLVED):
        with pytest.raises(InvalidTransition):
            next_status(status, Transition.TAKE_OVER)


async def test_take_over_silences_the_bot_and_records_the_reason(store, fake, bus, policy):
    recorder = Recorder()
    bus.subscribe(recorder)
    flow = ConversationFlow(store.conversations, fake, policy, bus)
    actions = AgentActions(store.conversations, store.accounts, fake, bus)
    who = f"unit-{uuid.uuid4().hex[:8]}"
    first = await flow.handle(said("hi", who))
    assert first.status is ConversationStatus.BOT and first.replies
    ana = await agent(store)
    taken = await actions.take_over(first.conversation_id, ana)
    assert taken.status is ConversationStatus.ASSIGNED and taken.assignee.id == ana.id
    assert taken.handoff_reason == "agent_takeover" and taken.priority == 0
    key = (await store.conversations.get(first.conversation_id)).tracker_key
    assert key in fake.called("pause")
    # The customer writes on: the bot says nothing, but keeps the context.
    later = await flow.handle(said("where is my order 12345?", who))
    assert later.replies == [] and later.status is ConversationStatus.ASSIGNED
    assert not [c for c in fake.called("respond") if c[1] == "where is my order 12345?"]
    await bus.drain()
    [assigned] = [e for e in recorder.events if e.name is EventName.ASSIGNED
                  and e.conversation_id == first.conversation_id]
    assert assigned.data["takeover"] is True and assigned.actor_id == ana.id
    assert assigned.messages[0].sender is SenderKind.SYSTEM and "Ana joined" in assigned.messages[0].text


async def test_a_bot_turn_still_thinking_is_dropped_when_an_agent_steps_in(store, bus, policy):
    slow = SlowEngine()
    flow = ConversationFlow(store.conversations, slow, policy, bus)
    actions = AgentActions(store.conversations, store.accounts, slow, bus)
    who = f"unit-{uuid.uuid4().hex[:8]}"
    slow.release.set()
    opened = await flow.handle(said("hi", who))
    slow.release.clear()
    slow.thinking.clear()
    turn = asyncio.ensure_future(flow.handle(said("where is my order 12345?", who)))
    await asyncio.wait_for(slow.thinking.wait(), 5)
    await actions.take_over(opened.conversation_id, await agent(store))
    slow.release.set()
    result = await asyncio.wait_for(turn, 5)
    assert result.replies == []
    senders = [m.sender for m in await store.conversations.messages(opened.conversation_id)]
    # The answer to "hi", the question (stored first), the agent joining: no bot answer to the question.
    assert senders == [SenderKind.CUSTOMER, SenderKind.BOT, SenderKind.CUSTOMER, SenderKind.SYSTEM]


async def test_take_over_refuses_what_is_not_with_the_bot_and_people_who_cannot_take(store, fake, bus, policy):
    flow = ConversationFlow(store.conversations, fake, policy, bus)
    actions = AgentActions(store.conversations, store.accounts, fake, bus)
    queued = await flow.handle(said("I want to talk to a person", f"unit-{uuid.uuid4().hex[:8]}"))
    with pytest.raises(ActionError) as refused:
        await actions.take_over(queued.conversation_id, await agent(store))
    assert refused.value.code == "not_with_bot"
    bot = await flow.handle(said("hi", f"unit-{uuid.uuid4().hex[:8]}"))
    with pytest.raises(ActionError) as forbidden:
        await actions.take_over(bot.conversation_id, await agent(store, Role.TRAINER))
    assert forbidden.value.status == 403
    assert (await store.conversations.get(bot.conversation_id)).status is ConversationStatus.BOT
