"""Rasa's tracker store, backed by Baton's own database on Baton's own loop.

Rasa runs on the engine thread; Baton's database engine belongs to the server's event loop.
So this store hands each read and write back to that loop (`run_coroutine_threadsafe`) and
awaits it from the engine thread: one database, one connection pool, and on SQLite no second
writer contending for the file. Which database a call uses travels with the call (a context
variable set by the engine), so one loaded model can serve several apps (the tests do that).

Between turns the tracker object itself is kept (`bot/tracker_cache.py`): a save appends only
the events the tracker gained since it was loaded or last saved, and a conflict on append
(another process wrote) drops the cached tracker so the next read rebuilds it from the database.
When other processes serve the same conversations (`backend.shared`: several workers, or
PostgreSQL), a cached tracker is first brought up to date: the events stored after it (by
whichever process served the customer's last turns) are read and applied to it, so a customer
moving between workers costs those few rows, not a rebuild of the whole session.
"""

from __future__ import annotations

import json
import logging
from itertools import islice
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.shared.core.events import deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store.trackers import TrackerConflict
from bot.tracker_backend import TrackerBackend, current_backend

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

    async def _stored(self, backend: TrackerBackend, key: str) -> List[Dict[str, Any]]:
        rows = await backend.run(backend.events.load(key))
        return [json.loads(row) for row in rows]

    async def _build(self, backend: TrackerBackend, key: str) -> Optional[DialogueStateTracker]:
        """The conversation's last session, rebuilt from the database."""
        events = await self._stored(backend, key)
        tracker = None
        if events:
            offset = _last_session_start(events)
            tracker = DialogueStateTracker.from_dict(key, events[offset:], self.domain.slots)
        backend.trackers.loaded(key, tracker, len(events))
        return tracker

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.retrieve(sender_id)
        tracker = backend.trackers.check_out(sender_id)
        if tracker is None:
            return await self._build(backend, sender_id)
        if backend.shared:
            return await self._caught_up(backend, sender_id, tracker)
        return tracker

    async def _caught_up(self, backend: TrackerBackend, key: str,
                         tracker: DialogueStateTracker) -> Optional[DialogueStateTracker]:
        """The cached tracker plus whatever other processes stored for the conversation since."""
        persisted = backend.trackers.persisted(key)
        if persisted is None or not persisted.describes(tracker):
            return await self._build(backend, key)
        later = [json.loads(row) for row in await backend.run(backend.events.load(key, persisted.rows))]
        if not later:
            return tracker
        if any(event.get("event") == "action" and event.get("name") == SESSION_START for event in later):
            return await self._build(backend, key)   # a new session: the cache holds only the last one
        for event in deserialise_events(later):
            tracker.update(event)
        backend.trackers.loaded(key, tracker, persisted.rows + len(later))
        return tracker

    async def peek(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's tracker for reading only: the caller must not change or save it."""
        backend = current_backend.get()
        if backend is None:
            return await self._memory.retrieve(sender_id)
        if backend.shared:
            # Taken out while it catches up, so a turn meanwhile cannot catch the same object up too.
            tracker = backend.trackers.check_out(sender_id)
            if tracker is not None:
                tracker = await self._caught_up(backend, sender_id, tracker)
                if tracker is not None:
                    backend.trackers.put_back(sender_id, tracker)
                return tracker
        else:
            tracker = backend.trackers.peek(sender_id)
            if tracker is not None:
                return tracker
        events = await self._stored(backend, sender_id)
        if not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events[_last_session_start(events):], self.domain.slots)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.retrieve_full_tracker(conversation_id)
        events = await self._stored(backend, conversation_id)
        return DialogueStateTracker.from_dict(conversation_id, events, self.domain.slots) if events else None

    async def _already_stored(self, backend: TrackerBackend, tracker: DialogueStateTracker) -> Tuple[int, int]:
        """(this tracker's events the database has, rows stored for the conversation)."""
        key = tracker.sender_id
        persisted = backend.trackers.persisted(key)
        if persisted is not None and (persisted.describes(tracker) or persisted.rows == 0):
            return persisted.events if persisted.describes(tracker) else 0, persisted.rows
        # A tracker this process did not hand out: it holds the stored last session.
        events = await self._stored(backend, key)
        return len(events) - _last_session_start(events), len(events)

    async def save(self, tracker: DialogueStateTracker) -> None:
        backend = current_backend.get()
        if backend is None:
            await self._memory.save(tracker)
            return
        key = tracker.sender_id
        already, rows = await self._already_stored(backend, tracker)
        new = [json.dumps(event.as_dict()) for event in islice(tracker.events, already, None)]
        if new:
            try:
                await backend.run(backend.events.append(key, rows, new))
            except TrackerConflict:
                # Someone appended first (typically: this turn ran past its time budget and the
                # conversation was handed off meanwhile). The stored tracker stands. Raising would
                # only make Rasa's FailSafeTrackerStore log an error and keep this stale tracker in
                # an in-memory store that nothing ever empties.
                backend.trackers.forget(key)
                log.warning("tracker %s changed during a late turn; that turn's %d events are dropped", key, len(new))
                return
        backend.trackers.check_in(key, tracker, rows + len(new))

    async def keys(self) -> Iterable[Text]:
        backend = current_backend.get()
        if backend is None:
            return await self._memory.keys()
        return backend.trackers.keys()
