"""What people do to a conversation (AgentActions), on a real store: rules, races and events."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.agent_actions import HANDED_BACK_TEXT, ActionError, AgentActions
from bot.conversation import ConversationFlow
from bot.domain import ConversationStatus, InboundMessage, Role, SenderKind
from bot.events import EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from tests.bot.test_flow import Recorder


@pytest.fixture
def actions(store, fake, bus) -> AgentActions:
    return AgentActions(store.conversations, store.accounts, fake, bus)


async def person(store, role: Role = Role.AGENT, active: bool = True):
    user = await store.accounts.create(f"{role.value}-{uuid.uuid4().hex[:8]}", "Sam", role, "!", 5)
    return user if active else await store.accounts.update(user.id, active=False)


async def queued(store, fake, bus) -> int:
    flow = ConversationFlow(store.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    result = await flow.handle(InboundMessage("rest", f"unit-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))
    assert result.status is ConversationStatus.QUEUED
    return result.conversation_id


async def test_claim_reply_hand_back_resolve(store, fake, bus, actions):
    recorder = Recorder()
    bus.subscribe(recorder)
    agent = await person(store)
    conversation_id = await queued(store, fake, bus)
    claimed = await actions.claim(conversation_id, agent)
    assert claimed.status is ConversationStatus.ASSIGNED and claimed.assignee.id == agent.id
    reply = await actions.reply(conversation_id, agent, "  Hello, I'm Sam.  ")
    assert reply.sender is SenderKind.AGENT and reply.text == "Hello, I'm Sam." and reply.agent.id == agent.id
    key = (await store.conversations.get(conversation_id)).tracker_key
    assert (key, "Hello, I'm Sam.", "Sam") in fake.called("record_agent")
    back = await actions.hand_back(conversation_id, agent)
    assert back.status is ConversationStatus.BOT and back.assignee is None
    assert key in fake.called("resume")
    resolved = await actions.resolve(conversation_id, agent)
    assert resolved.status is ConversationStatus.RESOLVED and resolved.resolved_at is not None
    await bus.drain()
    names = [e.name for e in recorder.events if e.conversation_id == conversation_id]
    assert names[-4:] == [EventName.ASSIGNED, EventName.AGENT_REPLIED, EventName.HANDED_BACK, EventName.RESOLVED]
    joined, handed_back = recorder.events[-4].messages[0], recorder.events[-2].messages[0]
    assert joined.text == "Sam joined the conversation." and handed_back.text == HANDED_BACK_TEXT


async def test_exactly_one_of_two_simultaneous_claims_wins(store, fake, bus, actions):
    first, second = await person(store), await person(store)
    conversation_id = await queued(store, fake, bus)
    outcomes = await asyncio.gather(actions.claim(conversation_id, first), actions.claim(conversation_id, second),
                                    return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, ActionError)]
    assert len(errors) == 1 and errors[0].code == "already_claimed"


async def test_replying_to_a_queued_conversation_claims_it(store, fake, bus, actions):
    agent = await person(store)
    conversation_id = await queued(store, fake, bus)
    await actions.reply(conversation_id, agent, "On it")
    assert (await store.conversations.get(conversation_id)).assignee_id == agent.id


@pytest.mark.parametrize("text,code", [("", "empty"), ("   ", "empty"), (None, "empty"), ("a\x00b", "bad_text"),
                                       ("\ud800", "bad_text"), ("x" * 10_001, "too_long")])
async def test_unstorable_replies_are_refused_clearly(store, fake, bus, actions, text, code):
    agent = await person(store)
    conversation_id = await queued(store, fake, bus)
    with pytest.raises(ActionError) as refused:
        await actions.reply(conversation_id, agent, text)
    assert refused.value.code == code and refused.value.status in (413, 422)


async def test_only_the_owner_or_an_admin_acts_on_an_assigned_conversation(store, fake, bus, actions):
    owner, colleague, admin = await person(store), await person(store), await person(store, Role.ADMIN)
    conversation_id = await queued(store, fake, bus)
    await actions.claim(conversation_id, owner)
    for attempt in (actions.reply(conversation_id, colleague, "mine now"),
                    actions.hand_back(conversation_id, colleague),
                    actions.resolve(conversation_id, colleague),
                    actions.transfer(conversation_id, colleague.id, colleague)):
        with pytest.raises(ActionError) as refused:
            await attempt
        assert refused.value.code == "not_assignee" and refused.value.status == 403
    moved = await actions.transfer(conversation_id, colleague.id, admin)
    assert moved.assignee.id == colleague.id


async def test_transfers_only_go_to_active_people_who_take_conversations(store, fake, bus, actions):
    owner, trainer, gone = await person(store), await person(store, Role.TRAINER), await person(store, active=False)
    conversation_id = await queued(store, fake, bus)
    await actions.claim(conversation_id, owner)
    for target in (trainer, gone):
        with pytest.raises(ActionError) as refused:
            await actions.transfer(conversation_id, target.id, owner)
        assert refused.value.code == "bad_target"
    with pytest.raises(ActionError) as missing:
        await actions.transfer(conversation_id, 10 ** 12, owner)
    assert missing.value.code == "not_found" and missing.value.status == 404


async def test_illegal_moves_are_refused_by_the_state_machine(store, fake, bus, actions):
    agent = await person(store)
    conversation_id = await queued(store, fake, bus)
    await actions.resolve(conversation_id, agent)
    for attempt in (actions.claim(conversation_id, agent), actions.hand_back(conversation_id, agent),
                    actions.reply(conversation_id, agent, "hello?")):
        with pytest.raises(ActionError) as refused:
            await attempt
        assert refused.value.status == 409
    with pytest.raises(ActionError) as missing:
        await actions.claim(10 ** 12, agent)
    assert missing.value.status == 404


async def test_trainers_cannot_take_conversations(store, fake, bus, actions):
    trainer = await person(store, Role.TRAINER)
    conversation_id = await queued(store, fake, bus)
    with pytest.raises(ActionError) as refused:
        await actions.claim(conversation_id, trainer)
    assert refused.value.code == "forbidden"
