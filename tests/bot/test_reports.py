"""Reports from reporting facts: the listener records what happens, the report sums it per day and agent."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bot.agent_actions import AgentActions
from bot.conversation import ConversationFlow
from bot.domain import InboundMessage, Role
from bot.events import EventBus
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.ratings import Ratings
from bot.reporting.listener import ReportingListener
from bot.reporting.reports import Reports
from bot.store import Store
from bot.store.database import migrate


@pytest.fixture
async def fresh(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/reports.db"
    await migrate(url)
    opened = Store.open(url)
    yield opened
    await opened.close()


@pytest.fixture
async def wired(fresh, fake):
    bus = EventBus()
    bus.subscribe(ReportingListener(fresh.reporting))
    flow = ConversationFlow(fresh.conversations, fake, HandoffPolicy(PolicyConfig()), bus)
    actions = AgentActions(fresh.conversations, fresh.accounts, fake, bus, rating_channels=lambda c: True)
    yield flow, actions, bus
    await bus.close()


def said(text: str, who: str) -> InboundMessage:
    return InboundMessage("webchat", who, text)


async def test_a_day_of_conversations_as_the_report_counts_it(fresh, wired):
    flow, actions, bus = wired
    ana = await fresh.accounts.create(f"ana-{uuid.uuid4().hex[:6]}", "Ana", Role.AGENT, "!", 5)
    # Two conversations the bot handles alone, one handed off that Ana answers, resolves and is rated for.
    for _ in range(2):
        await flow.handle(said("hi", f"unit-{uuid.uuid4().hex[:8]}"))
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await flow.handle(said("I want to talk to a person", who))
    await bus.drain()
    await actions.claim(handed.conversation_id, ana)
    await actions.reply(handed.conversation_id, ana, "Hi, Ana here.")
    await actions.reply(handed.conversation_id, ana, "Anything else?")   # not a first reply
    await actions.resolve(handed.conversation_id, ana, "Bye!", ask_rating=True)
    question = (await fresh.conversations.messages(handed.conversation_id))[-1]
    await Ratings(fresh.ratings, bus).rate(handed.conversation_id, question.id, 4)
    # The customer comes back: a new opening, with the bot.
    await flow.handle(said("hi", who))
    await bus.drain()

    today = datetime.now(timezone.utc).date()
    report = await Reports(fresh.reporting, fresh.ratings, fresh.accounts).between(today - timedelta(days=1), today)
    assert [d["day"] for d in report["days"]] == [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    day = report["days"][-1]
    assert day["conversations"] == 4 and day["bot_only"] == 3 and day["bot_share"] == 0.75
    assert day["handoffs"] == {"human_requested": 1}
    assert day["first_reply_seconds"] is not None and day["first_reply_seconds"] >= 0
    assert day["resolved"] == 1 and day["resolution_seconds"] is not None
    assert day["satisfaction"] == 4.0 and day["ratings"] == 1
    assert report["days"][0]["conversations"] == 0 and report["days"][0]["bot_share"] is None
    [row] = [a for a in report["agents"] if a["agent"]["id"] == ana.id]
    assert row["resolved"] == 1 and row["satisfaction"] == 4.0 and row["first_reply_seconds"] is not None
    assert report["totals"]["conversations"] == 4


async def test_days_follow_the_business_time_zone_and_periods_are_bounded(fresh):
    conversation = await fresh.conversations.record_inbound(said("hi", f"unit-{uuid.uuid4().hex[:8]}"))
    late = datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc)      # Tuesday 00:30 in Berlin
    await fresh.reporting.record("opened", conversation.conversation.id, at=late)
    berlin = Reports(fresh.reporting, fresh.ratings, fresh.accounts, "Europe/Berlin")
    report = await berlin.between(late.date(), late.date() + timedelta(days=1))
    assert [d["conversations"] for d in report["days"]] == [0, 1]
    utc = await Reports(fresh.reporting, fresh.ratings, fresh.accounts).between(late.date(), late.date())
    assert utc["days"][0]["conversations"] == 1
    with pytest.raises(ValueError):
        await berlin.between(late.date(), late.date() - timedelta(days=1))
    with pytest.raises(ValueError):
        await berlin.between(late.date(), late.date() + timedelta(days=200))
