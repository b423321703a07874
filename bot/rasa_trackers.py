"""Rasa's tracker store, backed by Baton's own database on Baton's own loop.

Rasa runs on the engine thread; Baton's database engine belongs to the server's event loop.
So this store hands each read and write back to that loop (`run_coroutine_threadsafe`) and
awaits it from the engine thread: one database, one connection pool, and on SQLite no second
writer contending for the file. Which database a call uses travels with the call (a context
variable set by the engine), so one loaded model can serve several apps (the tests do that).

Events are cached per conversation after the first read; a conversation is served by one
process at a time (sticky sessions), and a conflict on append (another process wrote) drops
the cache so the next read reloads.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.engine import TrackerBackend, current_backend
from bot.store.trackers import TrackerConflict

log = logging.getLogger(__name__)

SESSION_START = "action_session_start"


def _last_session_start(events: List[Dict[str, Any]]) -> int:
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "action" and event.get("name") == SESSION_START:
            return index
    return 0


class BatonTrackerStore(TrackerStore):
    """Persists through the calling app's backend; without one (offline tools) keeps trackers in memory."""

    def __init__(self, domain=None) -> None:
        super().__init__(domain)
        self._memory = InMemoryTrackerStore(domain)

    @property
    def domain(self):
        return self._domain

    @domain.setter
    def domain(self, domain) -> None:
        from rasa.shared.core.domain import Domain

        self._domain = domain or Domain.empty()
        self._memory.domain = domain

    async def _events(self, backend: TrackerBackend, key: str) -> List[Dict[str, Any]]:
        events = backend.cache.get(key)
        if events is None:
            rows = await backend.run(backend.events.load(key))
            events = [json.loads(row) for row in rows]
            backend.cache[key] = events
        return events

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.retrieve(sender_id)
        events = await self._events(backend, sender_id)
        if not events:
            backend.offsets[sender_id] = 0
            return None
        offset = _last_session_start(events)
        backend.offsets[sender_id] = offset
        return DialogueStateTracker.from_dict(sender_id, events[offset:], self.domain.slots)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.retrieve_full_tracker(conversation_id)
        events = await self._events(backend, conversation_id)
        return DialogueStateTracker.from_dict(conversation_id, events, self.domain.slots) if events else None

    async def save(self, tracker: DialogueStateTracker) -> None:
        backend = current_backend.get()
        if backend is None:
            await self._memory.save(tracker)
            return
        key = tracker.sender_id
        stored = await self._events(backend, key)
        offset = backend.offsets.get(key, _last_session_start(stored))
        already = len(stored) - offset           # events of this session the store has
        new = [event.as_dict() for event in list(tracker.events)[already:]]
        if not new:
            return
        try:
            await backend.run(backend.events.append(key, len(stored), [json.dumps(e) for e in new]))
        except TrackerConflict:
            backend.cache.pop(key, None)
            raise
        stored.extend(new)

    async def keys(self) -> Iterable[Text]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.keys()
        return list(backend.cache.keys())

