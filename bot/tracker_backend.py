"""Where the bot keeps its trackers: which app's database, reached from the engine thread.

Its own module so that the engine and Rasa's tracker store (bot.rasa_trackers) both import it
and neither imports the other.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(eq=False)
class TrackerBackend:
    """Where one app keeps the bot's trackers: its event store, and the loop that store runs on."""

    events: Any   # bot.store.trackers.TrackerEventStore
    loop: asyncio.AbstractEventLoop
    # Rasa's trackers between turns (bot.rasa_trackers): rebuilding one from its stored events
    # every turn cost more than the turn's dialogue prediction.
    trackers: Any = field(default_factory=lambda: _tracker_cache())
    # The app's custom actions (bot.custom_actions.ActionRunner): they read that app's database and CRM.
    actions: Any = None
    # Other processes serve these conversations too (worker processes, or PostgreSQL shared by
    # several servers): a cached tracker is brought up to date before each turn.
    shared: bool = False

    async def run(self, coro):
        # Shielded on the server's loop: a bot call that times out must not cancel a database
        # operation half-way, which would strand the pooled connection.
        async def shielded():
            return await asyncio.shield(coro)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(shielded(), self.loop))


def _tracker_cache():
    from bot.tracker_cache import TrackerCache

    return TrackerCache()


# Set on the engine thread for the duration of one call: which app's database the trackers use.
current_backend: "contextvars.ContextVar[Optional[TrackerBackend]]" = contextvars.ContextVar(
    "baton_tracker_backend", default=None)
