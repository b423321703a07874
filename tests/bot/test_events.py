"""The event bus: publishing never waits for a listener; one listener's failure never stops another."""

from __future__ import annotations

import asyncio

from bot.events import DomainEvent, EventBus, EventName


async def test_publish_returns_before_a_slow_listener_finishes():
    bus = EventBus()
    started, release = asyncio.Event(), asyncio.Event()
    seen = []

    async def slow(event):
        started.set()
        await release.wait()
        seen.append(event.conversation_id)

    bus.subscribe(slow)
    bus.publish(DomainEvent(EventName.AGENT_REPLIED, 1))   # not awaited: it cannot hold the caller
    await asyncio.wait_for(started.wait(), 1)
    assert seen == []
    release.set()
    await bus.drain()
    assert seen == [1]
    await bus.close()


async def test_each_listener_sees_its_events_in_order_and_failures_stay_contained():
    bus = EventBus()
    got, other = [], []

    async def flaky(event):
        if event.conversation_id == 2:
            raise RuntimeError("boom")
        got.append(event.conversation_id)

    async def steady(event):
        await asyncio.sleep(0.001 * (5 - event.conversation_id))  # later events finish sooner if run at once
        other.append(event.conversation_id)

    bus.subscribe(flaky)
    bus.subscribe(steady, EventName.BOT_REPLIED)
    for i in range(1, 5):
        bus.publish(DomainEvent(EventName.BOT_REPLIED, i))
    bus.publish(DomainEvent(EventName.TYPING, 9))           # steady did not subscribe to typing
    await bus.drain()
    assert got == [1, 3, 4, 9] and other == [1, 2, 3, 4]
    assert bus.listeners() == {"*": ["function"], "bot_replied": ["function"]}
    await bus.close()
