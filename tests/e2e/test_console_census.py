"""Workers sharing Redis publish console events only when some console, on any worker, can hear them.

Without the census a worker could not know about consoles on other workers, so every customer
turn read the conversation's summary and published events to Redis that nobody received.
"""

from __future__ import annotations

import asyncio
import pickle
import uuid

import pytest
import redis.asyncio as aioredis

from tests.support import REDIS_URL, AgentClient, http_session, logged_in, redis_worker_pair, rest

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def workers(postgres_url, faulty_engine, model_path):
    with redis_worker_pair(postgres_url, model_path, faulty_engine, "census") as pair:
        yield pair


async def _published_during(channel: str, work) -> list:
    """What went out on the workers' Redis channel while `work` ran (and a moment after)."""
    redis = aioredis.Redis.from_url(REDIS_URL)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)   # the subscription's own confirmation
    try:
        await work()
        await asyncio.sleep(0.5)
        seen = []
        while (message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)) is not None:
            seen.append(message)
        return seen
    finally:
        await pubsub.unsubscribe(channel)
        await pubsub.close()
        await redis.close()


async def test_no_console_anywhere_means_nothing_is_published_and_a_console_on_another_worker_hears_all(workers):
    a, b = workers
    channel = a.settings.redis_channel
    sender = "census-" + uuid.uuid4().hex[:8]
    async with http_session() as http:
        async def a_turn(text):
            replies = await rest(http, a, sender, text)
            assert replies, "the bot answered"
            await a.settled()   # the console events go out from listeners, after the turn

        before = await _published_during(channel, lambda: a_turn("hello"))
        assert before == [], [pickle.loads(m["data"]) for m in before]

        token, _ = await logged_in(b, "agent")
        agent = await AgentClient(b, token).connect()
        try:
            await agent.wait_for("queue")
            published = await _published_during(channel, lambda: a_turn("what are your opening hours?"))
            assert published, "a console is connected to worker B: worker A's turn is published"
            seen = await agent.wait_for("message", lambda m: m.get("text") == "what are your opening hours?")
            assert seen["sender"] == "customer"
        finally:
            await agent.close()

        # The console left: worker A goes quiet again (once B has seen the disconnect).
        for _ in range(50):
            if not await a.acall(a.services.agents.may_have_listeners()):
                break
            await asyncio.sleep(0.1)
        after = await _published_during(channel, lambda: a_turn("thanks"))
        assert after == [], [pickle.loads(m["data"]) for m in after]
