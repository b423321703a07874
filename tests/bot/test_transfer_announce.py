"""Transfers tell the customer only when the new agent opens the conversation (or answers)."""

from __future__ import annotations

import uuid

import pytest

from bot.agent_actions import AgentActions
from bot.conversation import ConversationFlow
from bot.domain import ConversationStatus, InboundMessage, Role, SenderKind
from bot.events import EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from tests.bot.test_flow import Recorder


@pytest.fixture
def actions(store, fake, bus) -> AgentActions:
    return AgentActions(store.conversations, store.accounts, fake, bus)


async def queued(store, fake, bus) -> int:
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    assert result.status is ConversationStatus.QUEUED
    return result.conversation_id


async def person(store, name: str):
    return await store.accounts.create(f"agent-{uuid.uuid4().hex[:8]}", name, Role.AGENT, "!", 5)


async def system_texts(store, conversation_id):
    return [m.text for m in await store.conversations.messages(conversation_id) if m.sender is SenderKind.SYSTEM]


async def test_a_transfer_is_announced_when_the_new_agent_opens_it_once(store, fake, bus, actions):
    recorder = Recorder()
    bus.subscribe(recorder)
    ana, ben = await person(store, "Ana"), await person(store, "Ben")
    conversation_id = await queued(store, fake, bus)
    await actions.claim(conversation_id, ana)
    before = await system_texts(store, conversation_id)
    assert before[-1] == "Ana joined the conversation."
    await actions.transfer(conversation_id, ben.id, ana)
    assert await system_texts(store, conversation_id) == before        # nothing said yet: Ben may be away
    assert await actions.announce(conversation_id, ana) is None         # not Ana's any more
    told = await actions.announce(conversation_id, ben)
    assert told.text == "You've been transferred to Ben." and told.agent.id == ben.id
    assert await actions.announce(conversation_id, ben) is None         # once
    await bus.drain()
    transfer = [e for e in recorder.events if e.name is EventName.ASSIGNED and e.data.get("transfer")]
    assert transfer and transfer[-1].messages == ()
    joined = [e for e in recorder.events if e.name is EventName.AGENT_JOINED and e.conversation_id == conversation_id]
    assert [m.text for e in joined for m in e.messages] == ["You've been transferred to Ben."]


async def test_an_auto_assigned_agent_joins_when_they_open_or_answer(store, fake, bus, actions):
    cleo = await person(store, "Cleo")
    conversation_id = await queued(store, fake, bus)
    await actions.assign(conversation_id, cleo)                          # auto-assignment: nobody acted yet
    assert "Cleo joined the conversation." not in await system_texts(store, conversation_id)
    reply = await actions.reply(conversation_id, cleo, "Hi, Cleo here.")   # answered before opening
    messages = await store.conversations.messages(conversation_id)
    assert [m.text for m in messages[-2:]] == ["Cleo joined the conversation.", "Hi, Cleo here."]
    assert messages[-1].id == reply.id


async def test_handing_back_and_coming_back_announces_again(store, fake, bus, actions):
    ana = await person(store, "Ana")
    conversation_id = await queued(store, fake, bus)
    await actions.claim(conversation_id, ana)
    await actions.hand_back(conversation_id, ana)
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    who = (await store.conversations.identity_of(conversation_id)).external_id
    await flow.handle(InboundMessage("rest", who, "I want to talk to a person"))
    await actions.assign(conversation_id, ana)
    told = await actions.announce(conversation_id, ana)
    assert told is not None and told.text == "Ana joined the conversation."
