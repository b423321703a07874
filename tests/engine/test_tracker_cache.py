"""Rasa's trackers kept between turns agree with what the database holds."""

from __future__ import annotations

import asyncio
import json

from agent_console.context_providers import DatabaseContextProvider
from bot.custom_actions import ActionRunner, verified_identity
from bot.engine import BoundEngine
from bot.store import Store
from bot.store.database import migrate
from bot.tracker_backend import TrackerBackend
from bot.tracker_cache import TrackerCache


class Tracker:
    def __init__(self, events):
        self.events = list(events)


def test_a_tracker_is_lent_to_one_caller_and_back_only_once_saved():
    cache = TrackerCache()
    tracker = Tracker(["a", "b"])
    cache.check_in("k", tracker, rows=2)
    assert cache.check_out("k") is tracker
    assert cache.check_out("k") is None, "a second caller must rebuild, not share the first one's tracker"
    tracker.events.append("c")           # a turn that fails after changing it never checks it in
    assert cache.check_out("k") is None
    assert cache.persisted("k").describes(tracker) and cache.persisted("k").events == 2


def test_the_cache_is_bounded():
    cache = TrackerCache(capacity=3)
    for i in range(5):
        cache.check_in(f"k{i}", Tracker([i]), rows=1)
    assert cache.peek("k0") is None and cache.peek("k4") is not None
    assert len(cache.keys()) == 3


def backend_of(store: Store, loop) -> TrackerBackend:
    """An app's backend: its trackers, and its custom actions (the order form validates over them)."""
    actions = ActionRunner(["bot.actions"], DatabaseContextProvider(store.catalogue),
                           verified_identity(store.conversations), 4.0)
    return TrackerBackend(store.trackers, loop, actions=actions)


async def test_turns_use_the_cached_tracker_and_a_restart_rebuilds_the_same_one(engine, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/trackers.db"
    await migrate(url)
    store = Store.open(url)
    try:
        loop = asyncio.get_running_loop()
        backend = backend_of(store, loop)
        bot = BoundEngine(engine, backend)
        key = "conversation-cache-test"
        for text in ("hi", "where is my order 12345?", "thanks"):
            assert await bot.respond(key, await bot.parse(text))
        assert backend.trackers.hits >= 2, "later turns should reuse the tracker, not rebuild it"

        stored = [json.loads(row) for row in await store.trackers.load(key)]
        cached = backend.trackers.peek(key)
        assert stored == [json.loads(json.dumps(event.as_dict())) for event in cached.events]  # tuples -> lists

        restarted = BoundEngine(engine, backend_of(store, loop))   # nothing cached
        remembered = await restarted.memory(key)
        assert remembered == await bot.memory(key)
        assert "12345" in json.dumps(remembered["slots"])
        # After a restart the next turn appends after what is stored, without gaps or repeats.
        assert await restarted.respond(key, await restarted.parse("how long does delivery take?"))
        again = [json.loads(row) for row in await store.trackers.load(key)]
        assert again[:len(stored)] == stored and len(again) > len(stored)
    finally:
        await store.close()


async def test_a_turn_that_lost_a_race_is_dropped_and_the_stored_tracker_stands(engine, tmp_path, caplog):
    """Two holders of one conversation's tracker (a late turn, another worker): the first save wins."""
    url = f"sqlite+aiosqlite:///{tmp_path}/race.db"
    await migrate(url)
    store = Store.open(url)
    try:
        loop = asyncio.get_running_loop()
        first = BoundEngine(engine, backend_of(store, loop))
        second = BoundEngine(engine, backend_of(store, loop))
        key = "conversation-race-test"
        assert await first.respond(key, await first.parse("hi"))          # first caches its tracker
        assert await second.respond(key, await second.parse("thanks"))    # second appends meanwhile
        stored = await store.trackers.load(key)
        # first's cached tracker is stale now; its turn still answers, but its events are not stored
        assert await first.respond(key, await first.parse("where is my order 12345?"))
        assert await store.trackers.load(key) == stored
        assert "dropped" in caplog.text and "Falling back" not in caplog.text
        # the next turn rebuilds from the database and appends after what is stored
        assert await first.respond(key, await first.parse("how long does delivery take?"))
        after = await store.trackers.load(key)
        assert after[:len(stored)] == stored and len(after) > len(stored)
    finally:
        await store.close()


async def test_reading_what_the_bot_asked_or_remembers_leaves_the_tracker_for_the_next_turn(engine, tmp_path):
    """awaiting() and memory() read the cached tracker; they must not take it out of the cache
    (Rasa wraps the store in a FailSafeTrackerStore, which has no `peek` of its own)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/peek.db"
    await migrate(url)
    store = Store.open(url)
    try:
        backend = backend_of(store, asyncio.get_running_loop())
        bot = BoundEngine(engine, backend)
        key = "conversation-peek-test"
        assert await bot.respond(key, await bot.parse("hi"))
        for turn in range(3):
            await bot.awaiting(key)
            assert (await bot.memory(key))["paused"] is False
            misses = backend.trackers.misses
            assert await bot.respond(key, await bot.parse("how long does delivery take?"))
            assert backend.trackers.misses == misses, f"turn {turn} rebuilt its tracker after a read"
    finally:
        await store.close()
