"""The customer's wait (bot/waiting): honest notices, live places, estimates, offers, the e-mail left.

A real store on its own SQLite file per test (positions are about the whole queue), the real
flow with the fake engine, and a presence stand-in that says how many agents are online.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import List

import pytest

from bot.conversation import ConversationFlow
from bot.domain import ConversationStatus, InboundMessage, SenderKind
from bot.events import EventBus, EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.reporting.listener import ReportingListener
from bot.store import Store
from bot.store.database import migrate
from bot.waiting.estimate import WaitRange, estimate
from bot.waiting.hours import BusinessHours, HoursError
from bot.waiting.room import WaitConfig, WaitingRoom
from bot.waiting.watch import QueueWatch
from tests.bot.test_flow import Recorder

MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)   # a Monday


# ---- business hours and estimates (pure) -------------------------------------------------

def test_business_hours_are_read_as_an_admin_writes_them():
    hours = BusinessHours.parse({"mon": "09:00-12:00, 13:00-17:00", "tue": "09:00-17:00", "sat": "closed"}, "UTC")
    assert hours.is_open(MONDAY_10)
    assert not hours.is_open(MONDAY_10.replace(hour=12, minute=30))          # lunch
    assert not hours.is_open(MONDAY_10 + timedelta(days=5))                    # Saturday
    assert hours.describe_next_opening(MONDAY_10.replace(hour=12, minute=30)) == "today at 13:00 (UTC)"
    assert hours.describe_next_opening(MONDAY_10.replace(hour=18)) == "tomorrow at 09:00 (UTC)"
    assert hours.describe_next_opening(MONDAY_10 + timedelta(days=1, hours=8)) == "Monday at 09:00 (UTC)"
    assert BusinessHours.parse({}).is_open(MONDAY_10 + timedelta(days=6)) and BusinessHours().always_open


def test_business_hours_follow_the_business_time_zone():
    berlin = BusinessHours.parse({d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}, "Europe/Berlin")
    assert berlin.is_open(MONDAY_10.replace(hour=15, minute=30))          # 16:30 in Berlin
    assert not berlin.is_open(MONDAY_10.replace(hour=16, minute=30))      # 17:30 in Berlin


@pytest.mark.parametrize("hours,zone,problem", [
    ({"monday": "09:00-17:00"}, "UTC", "unknown day"),
    ({"mon": "9-5"}, "UTC", "not a span"),
    ({"mon": "17:00-09:00"}, "UTC", "ends before it starts"),
    ({"mon": "09:00-17:00"}, "Mars/Olympus", "unknown time zone"),
])
def test_bad_business_hours_are_refused_with_the_reason(hours, zone, problem):
    with pytest.raises(HoursError, match=problem):
        BusinessHours.parse(hours, zone)


def test_an_estimate_is_a_range_from_recent_claims_or_nothing():
    assert estimate(1, [(60.0, 1.0), (120.0, 1.0)]) is None          # too few claims: no number at all
    waits = [(60.0, 1.0), (120.0, 1.0), (180.0, 1.0), (240.0, 2.0)]   # per place: 60, 120, 180, 120 s
    first = estimate(1, waits)
    third = estimate(3, waits)
    assert first == WaitRange(1, 3) and "1\u20133 minutes" in first.text()
    assert third.low_minutes >= first.low_minutes * 3 - 1 and third.high_minutes > first.high_minutes
    assert third.low_minutes < third.high_minutes


# ---- the waiting room on a real store -----------------------------------------------------

class Staff:
    """Stands in for presence: how many agents are online."""

    def __init__(self, online: int = 1) -> None:
        self.online = online

    async def __call__(self) -> int:
        return self.online


@pytest.fixture
async def fresh(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/waiting.db"
    await migrate(url)
    opened = Store.open(url)
    yield opened
    await opened.close()


@pytest.fixture
async def room_bus():
    events = EventBus()
    yield events
    await events.close()


@pytest.fixture
def staff() -> Staff:
    return Staff(online=1)


@pytest.fixture
def room(fresh, room_bus, staff) -> WaitingRoom:
    waiting = WaitingRoom(fresh.waiting, fresh.reporting, fresh.conversations, room_bus, staff,
                          live_status=lambda channel: channel == "webchat")
    room_bus.subscribe(QueueWatch(waiting, tick_seconds=3600))
    room_bus.subscribe(ReportingListener(fresh.reporting))
    return waiting


@pytest.fixture
def flow(fresh, fake, room_bus, room) -> ConversationFlow:
    policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.7, always_human_intents=("complaint",)))
    flow = ConversationFlow(fresh.conversations, fake, policy, room_bus, model_wait_seconds=0.5)
    flow.handoff_notice = room.handoff_notice
    return flow


@pytest.fixture
def recorder(room_bus) -> Recorder:
    recorder = Recorder()
    room_bus.subscribe(recorder)
    return recorder


def said(text: str, who: str = "", channel: str = "rest") -> InboundMessage:
    return InboundMessage(channel=channel, external_id=who or f"unit-{uuid.uuid4().hex[:8]}", text=text)


async def hand_off(flow, who: str = "", channel: str = "rest", text: str = "I want to talk to a person"):
    result = await flow.handle(said(text, who or f"unit-{uuid.uuid4().hex[:8]}", channel))
    assert result.status is ConversationStatus.QUEUED
    return result


def notices(recorder: Recorder, conversation_id: int, kind: str = None) -> List:
    return [m for e in recorder.events if e.name is EventName.WAIT_NOTICE and e.conversation_id == conversation_id
            for m in e.messages if kind in (None, m.payload.get("wait_notice"))]


def statuses(recorder: Recorder, conversation_id: int) -> List[dict]:
    return [e.data for e in recorder.events if e.name is EventName.WAIT_UPDATED and e.conversation_id == conversation_id]


async def test_nobody_online_is_said_honestly_and_a_message_is_offered(flow, room, fresh, staff, room_bus):
    staff.online = 0
    result = await hand_off(flow)
    notice = result.replies[-1]
    assert "Nobody from our team is online" in notice.text and "number 1 in the queue" in notice.text
    assert "leave a message and your e-mail address" in notice.text
    status = await room.status(result.conversation_id)
    assert status.state == "waiting" and status.offer_message and status.estimate is None
    assert status.headline == "Nobody is available right now"


async def test_outside_business_hours_the_customer_hears_when_people_are_back(flow, room, staff):
    room.config = WaitConfig(hours=BusinessHours.parse({"sun": "00:00-00:01"}, "UTC"))
    result = await hand_off(flow)
    text = result.replies[-1].text
    assert text.startswith("Our team is away right now; we're back ") and "Sunday at 00:00 (UTC)" in text
    assert (await room.status(result.conversation_id)).offer_message


async def test_with_people_in_and_recent_claims_the_notice_gives_a_range_not_a_promise(flow, room, fresh):
    first = await hand_off(flow)
    assert first.replies[-1].text.endswith("You are number 1 in the queue.")   # no claims yet: no number
    for minutes in (2, 3, 4):
        conversation = (await hand_off(flow)).conversation_id
        await fresh.reporting.record("queue_wait", conversation, value=minutes * 60.0, detail={"position": 1})
    room.forget_samples()
    later = await hand_off(flow)
    text = later.replies[-1].text
    position = later.replies[-1].payload["queue_position"]
    assert f"number {position} in the queue (usually about " in text and "an estimate, not a promise" in text
    status = await room.status(later.conversation_id)
    assert status.estimate is not None and status.estimate.low_minutes < status.estimate.high_minutes


async def test_a_higher_priority_handoff_never_silently_worsens_a_stated_place(flow, fresh, room_bus, recorder):
    waiting = await hand_off(flow)                                    # human_requested: priority 1
    assert waiting.replies[-1].payload["queue_position"] == 1
    urgent = await hand_off(flow, text="this is outrageous")          # complaint: priority 2, goes first
    assert urgent.replies[-1].payload["queue_position"] == 1
    await room_bus.drain()
    [moved] = notices(recorder, waiting.conversation_id, "moved_back")
    assert moved.text.endswith("you are now number 2 in the queue.") and moved.sender is SenderKind.SYSTEM
    assert (await fresh.conversations.summary(waiting.conversation_id)).stated_position == 2
    assert not notices(recorder, urgent.conversation_id, "moved_back")
    # Told once: the next queue change does not repeat it.
    await hand_off(flow)
    await room_bus.drain()
    assert len(notices(recorder, waiting.conversation_id, "moved_back")) == 1


async def test_live_customers_see_their_place_improve_as_the_queue_moves(flow, fresh, room_bus, recorder, fake):
    from bot.agent_actions import AgentActions
    from bot.domain import Role

    ahead = await hand_off(flow)
    me = await hand_off(flow, channel="webchat")
    await room_bus.drain()
    assert statuses(recorder, me.conversation_id)[-1]["position"] == 2
    actions = AgentActions(fresh.conversations, fresh.accounts, fake, room_bus)
    agent = await fresh.accounts.create(f"agent-{uuid.uuid4().hex[:6]}", "Ana", Role.AGENT, "!", 5)
    await actions.claim(ahead.conversation_id, agent)
    await room_bus.drain()
    latest = statuses(recorder, me.conversation_id)[-1]
    assert latest["state"] == "waiting" and latest["position"] == 1 and "number 1 in the queue" in latest["detail"]
    assert (await fresh.conversations.summary(me.conversation_id)).stated_position == 1
    assert statuses(recorder, ahead.conversation_id)[-1]["state"] == "assigned"
    # The claim is a sample for later estimates: how long, from which place.
    waits = await fresh.reporting.recent_waits(datetime.now(timezone.utc) - timedelta(hours=1), 10)
    assert len(waits) == 1 and waits[0][1] == 1.0 and waits[0][0] >= 0


async def test_further_messages_are_acknowledged_at_most_every_few_minutes(flow, room, room_bus, recorder):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await hand_off(flow, who)
    await flow.handle(said("hello? anyone?", who))
    await room_bus.drain()
    assert not notices(recorder, handed.conversation_id, "still_waiting")   # the handoff notice was just now
    room.config = WaitConfig(notice_interval_seconds=0.001)
    await flow.handle(said("still here", who))
    await room_bus.drain()
    [ack] = notices(recorder, handed.conversation_id, "still_waiting")
    assert "number 1 in the queue" in ack.text
    room.config = WaitConfig(notice_interval_seconds=3600)
    await flow.handle(said("and again", who))
    await room_bus.drain()
    assert len(notices(recorder, handed.conversation_id, "still_waiting")) == 1


async def test_a_live_customer_is_acknowledged_through_their_status(flow, room_bus, recorder):
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await hand_off(flow, who, channel="webchat")
    later = await flow.handle(said("hello?", who, channel="webchat"))
    await room_bus.drain()
    acks = [s for s in statuses(recorder, handed.conversation_id) if s.get("acknowledged_message_id")]
    assert acks and acks[-1]["acknowledged_message_id"] == later.customer_message_id
    assert not notices(recorder, handed.conversation_id)


async def test_a_long_wait_ends_in_the_offer_once(flow, room, room_bus, recorder):
    handed = await hand_off(flow)
    room.config = WaitConfig(max_wait_seconds=0.0)
    await room.tick()
    await room.tick()
    await room_bus.drain()
    [offer] = notices(recorder, handed.conversation_id, "long_wait_offer")
    assert "leave a message and your e-mail address" in offer.text
    assert (await room.status(handed.conversation_id)).offer_message


async def test_an_address_in_a_message_after_the_offer_is_the_message_left(flow, fresh, staff, room_bus, recorder):
    staff.online = 0
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await hand_off(flow, who)
    await flow.handle(said("Please write to me at ada@example.com about my refund", who))
    await room_bus.drain()
    [confirmed] = notices(recorder, handed.conversation_id, "message_left")
    assert confirmed.text == "Thanks, we have your message. We'll answer at ada@example.com."
    assert [e.data for e in recorder.events if e.name is EventName.MESSAGE_LEFT] == [{"email": "ada@example.com"}]
    summary = await fresh.conversations.summary(handed.conversation_id)
    assert summary.contact_email == "ada@example.com" and summary.left_message_at is not None
    texts = [m.text for m in await fresh.conversations.messages(handed.conversation_id)]
    assert "Please write to me at ada@example.com about my refund" in texts


async def test_coming_back_after_resolution_starts_a_fresh_wait(flow, fresh, staff, room_bus, fake):
    from bot.agent_actions import AgentActions
    from bot.domain import Role

    staff.online = 0
    who = f"unit-{uuid.uuid4().hex[:8]}"
    handed = await hand_off(flow, who)
    await flow.handle(said("reach me at ada@example.com", who))
    await room_bus.drain()
    admin = await fresh.accounts.create(f"admin-{uuid.uuid4().hex[:6]}", "Ari", Role.ADMIN, "!", 5)
    await AgentActions(fresh.conversations, fresh.accounts, fake, room_bus).resolve(handed.conversation_id, admin)
    again = await flow.handle(said("hi", who))
    assert again.conversation_id == handed.conversation_id and again.status is ConversationStatus.BOT
    summary = await fresh.conversations.summary(handed.conversation_id)
    assert summary.contact_email is None and summary.stated_position is None and summary.handoff_reason is None
