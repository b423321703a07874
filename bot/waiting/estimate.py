"""How long a waiting customer may still wait: a range from recent claims, never a promise.

Each recent claim says how long someone waited and at which place in the queue they started,
so it gives a time per place. A customer at place p is told p times the lower and upper
quartile of those times, in whole minutes. With too few claims there is no estimate at all:
a number made up from nothing would be a promise nobody can keep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

MIN_SAMPLES = 3


@dataclass(frozen=True)
class WaitRange:
    low_minutes: int
    high_minutes: int

    def as_json(self) -> dict:
        return {"low_minutes": self.low_minutes, "high_minutes": self.high_minutes}

    def text(self) -> str:
        if self.high_minutes <= 1:
            return "usually less than a minute or two"
        return f"usually about {self.low_minutes}\u2013{self.high_minutes} minutes"


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


def per_place_seconds(samples: Iterable[Tuple[float, Optional[float]]]) -> List[float]:
    """(seconds waited, place in the queue when it started) → seconds per place."""
    return [max(0.0, wait) / max(1.0, place or 1.0) for wait, place in samples if wait is not None]


def estimate(position: int, samples: Iterable[Tuple[float, Optional[float]]]) -> Optional[WaitRange]:
    """The range to tell a customer at `position`, or None when recent claims are too few."""
    rates = per_place_seconds(samples)
    if position < 1 or len(rates) < MIN_SAMPLES:
        return None
    low = position * _quantile(rates, 0.25) / 60.0
    high = position * _quantile(rates, 0.75) / 60.0
    low_minutes = max(1, math.floor(low))
    high_minutes = max(low_minutes + 1, math.ceil(high))
    return WaitRange(low_minutes, high_minutes)
