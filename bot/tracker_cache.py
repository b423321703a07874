"""Rasa trackers kept between turns, so a turn does not rebuild its tracker from stored events.

Rebuilding a tracker (deserialising and replaying every event of the session) cost more than
the turn's whole dialogue prediction. The cache hands a tracker out to one caller at a time
(`check_out` removes it) and takes it back only once its new events are stored (`check_in`):
a turn that fails half-way never leaves its half-applied tracker behind, and the next turn
rebuilds from the database. Nothing here imports Rasa.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional


@dataclass
class Persisted:
    """How much of one tracker object the database already has."""

    tracker: Callable[[], Any]   # a weak reference to the tracker object these numbers describe
    events: int                  # that tracker's events already stored
    rows: int                    # rows stored for the conversation (the next row's sequence number)

    def describes(self, tracker: Any) -> bool:
        return self.tracker() is tracker


def _no_tracker() -> None:
    return None


class TrackerCache:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._idle: "OrderedDict[str, Any]" = OrderedDict()   # key -> tracker nobody holds
        self._persisted: Dict[str, Persisted] = {}
        self.hits = 0
        self.misses = 0

    def check_out(self, key: str) -> Optional[Any]:
        tracker = self._idle.pop(key, None)
        if tracker is None:
            self.misses += 1
        else:
            self.hits += 1
        return tracker

    def loaded(self, key: str, tracker: Any, rows: int) -> None:
        """A tracker was just built from `rows` stored rows (None: the conversation has none)."""
        if tracker is None:
            self._persisted[key] = Persisted(_no_tracker, 0, rows)
        else:
            self._persisted[key] = Persisted(weakref.ref(tracker), len(tracker.events), rows)

    def persisted(self, key: str) -> Optional[Persisted]:
        return self._persisted.get(key)

    def check_in(self, key: str, tracker: Any, rows: int) -> None:
        """The tracker's events are all stored (`rows` rows in all); the next turn may take it."""
        self._persisted[key] = Persisted(weakref.ref(tracker), len(tracker.events), rows)
        self._idle[key] = tracker
        self._idle.move_to_end(key)
        while len(self._idle) > self.capacity:
            old, _ = self._idle.popitem(last=False)
            self._persisted.pop(old, None)

    def put_back(self, key: str, tracker: Any) -> None:
        """A tracker checked out only to be read (and brought up to date) is idle again."""
        if key not in self._idle:   # a turn that checked in meanwhile has the newer one
            self._idle[key] = tracker
            self._idle.move_to_end(key)

    def peek(self, key: str) -> Optional[Any]:
        """The idle tracker, for reading only (it stays in the cache)."""
        return self._idle.get(key)

    def forget(self, key: str) -> None:
        self._idle.pop(key, None)
        self._persisted.pop(key, None)

    def keys(self):
        return list(self._persisted.keys())
