"""The console census on a real Redis: workers see each other's consoles, and nothing else."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from agent_console.console_census import LAPSE_SECONDS, ConsoleCensus
from tests.support import REDIS_URL


@pytest.fixture
async def pair():
    channel = "baton-census-test-" + uuid.uuid4().hex
    a, b = ConsoleCensus.from_url(REDIS_URL, channel), ConsoleCensus.from_url(REDIS_URL, channel)
    yield a, b
    await a.redis.delete(a.key)
    await a.close()
    await b.close()


async def test_a_console_on_one_worker_is_seen_by_the_other_until_it_leaves(pair):
    a, b = pair
    assert not await a.anyone() and not await b.anyone()
    await b.connected()
    await b.connected()
    assert await a.anyone() and await b.anyone()
    await b.disconnected()
    assert await a.anyone(), "one of b's two consoles is still there"
    await b.disconnected()
    assert not await a.anyone() and not await b.anyone()


async def test_a_worker_that_died_with_consoles_connected_lapses(pair):
    a, _ = pair
    await a.redis.zadd(a.key, {"dead-worker": time.time() - 1})
    assert not await a.anyone()
    await a.redis.zadd(a.key, {"live-worker": time.time() + LAPSE_SECONDS})
    assert await a.anyone()


async def test_leaving_and_coming_back_at_once_ends_registered(pair):
    a, b = pair
    for _ in range(20):
        await b.connected()
        # The withdrawal and the new registration are sent together; the census must end with
        # what b has now (one console), whatever order Redis would have seen them in.
        await asyncio.gather(b.disconnected(), b.connected())
        assert b.local == 1
        assert await a.anyone()
        await b.disconnected()
        assert not await a.anyone()


async def test_without_redis_a_worker_assumes_someone_listens():
    census = ConsoleCensus.from_url("redis://127.0.0.1:1/0", "nowhere")
    try:
        assert await census.anyone()
        await census.connected()   # logged, not raised: a console must still be able to connect
        await census.disconnected()
    finally:
        await census.close()
