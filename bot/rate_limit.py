"""A small sliding-window rate limiter (per session, per address, per account)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from typing import Deque, Dict, Optional


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: Dict[str, Deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> Deque[float]:
        hits = self._hits[key]
        while hits and now - hits[0] > self.window:
            hits.popleft()
        return hits

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        """Count a hit for `key` if it is within the limit; False (and nothing counted) otherwise."""
        now = time.monotonic() if now is None else now
        hits = self._prune(key, now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 50_000:  # forget idle keys so a flood of ids cannot grow memory forever
            for stale in [k for k, v in self._hits.items() if not v or now - v[-1] > self.window]:
                del self._hits[stale]
        return True

    def blocked(self, key: str, now: Optional[float] = None) -> bool:
        """Whether `key` is over its limit right now, without counting a hit."""
        now = time.monotonic() if now is None else now
        return len(self._prune(key, now)) >= self.limit

    def retry_after(self, key: str, now: Optional[float] = None) -> int:
        """Whole seconds until `key` may try again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        hits = self._prune(key, now)
        if len(hits) < self.limit:
            return 0
        return max(1, math.ceil(self.window - (now - hits[0])))

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
