"""Business hours: when people answer, in the business's own time zone.

Written as a mapping of weekday to spans, as an admin would say it:
`{"mon": "09:00-17:00", "tue": "09:00-12:00, 13:00-17:00", "sat": "closed"}`. A day left out is
closed; no hours at all means always open (the default: a deployment that never set hours must
not tell customers it is closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
_SPAN = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")


class HoursError(ValueError):
    pass


Span = Tuple[time, Optional[time]]   # end None: until midnight ("24:00")


def _parse_day(day: str, value: Any) -> List[Span]:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "closed")):
        return []
    if not isinstance(value, str) or len(value) > 200:
        raise HoursError(f"{day}: expected spans like 09:00-17:00, or 'closed'")
    spans: List[Span] = []
    for part in value.split(","):
        match = _SPAN.match(part)
        if not match:
            raise HoursError(f"{day}: {part.strip()[:40]!r} is not a span like 09:00-17:00")
        start = time(int(match.group(1)), int(match.group(2)))
        end_hour, end_minute = int(match.group(3)), int(match.group(4))
        if end_hour == 24 and end_minute:
            raise HoursError(f"{day}: a day ends at 24:00")
        end = None if end_hour == 24 else time(end_hour, end_minute)
        if end is not None and end <= start:
            raise HoursError(f"{day}: {part.strip()} ends before it starts")
        spans.append((start, end))
    return sorted(spans)


@dataclass(frozen=True)
class BusinessHours:
    spans: Mapping[str, Tuple[Span, ...]] = field(default_factory=dict)
    zone: str = "UTC"

    @classmethod
    def parse(cls, hours: Optional[Mapping[str, Any]], zone: str = "UTC") -> "BusinessHours":
        """Check and read an admin's hours; a mistake is a HoursError naming the day."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise HoursError(f"unknown time zone {str(zone)[:60]!r} (use a name like Europe/Berlin)")
        if not hours:
            return cls({}, zone)
        if not isinstance(hours, Mapping):
            raise HoursError("business hours are a mapping of weekday to spans")
        unknown = [k for k in hours if k not in DAYS]
        if unknown:
            raise HoursError(f"unknown day {str(unknown[0])[:20]!r}; use {', '.join(DAYS)}")
        return cls({day: tuple(_parse_day(day, hours.get(day))) for day in DAYS}, zone)

    @property
    def always_open(self) -> bool:
        return not self.spans

    def as_json(self) -> Dict[str, Any]:
        def text(span: Span) -> str:
            return f"{span[0]:%H:%M}-{'24:00' if span[1] is None else format(span[1], '%H:%M')}"

        return {"hours": {d: ", ".join(text(s) for s in self.spans.get(d, ())) or "closed" for d in DAYS}
                if self.spans else {}, "timezone": self.zone}

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.zone))

    def is_open(self, now: Optional[datetime] = None) -> bool:
        if self.always_open:
            return True
        local = self._local(now or datetime.now(timezone.utc))
        clock = local.time().replace(tzinfo=None)
        for start, end in self.spans.get(DAYS[local.weekday()], ()):
            if start <= clock and (end is None or clock < end):
                return True
        return False

    def next_opening(self, now: Optional[datetime] = None) -> Optional[datetime]:
        """When people are next in (local time), or None when always open or never open."""
        if self.always_open:
            return None
        local = self._local(now or datetime.now(timezone.utc))
        for days_ahead in range(8):
            day = (local + timedelta(days=days_ahead)).date()
            for start, _ in self.spans.get(DAYS[day.weekday()], ()):
                candidate = datetime.combine(day, start, tzinfo=local.tzinfo)
                if candidate > local:
                    return candidate
        return None

    def describe_next_opening(self, now: Optional[datetime] = None) -> str:
        """'tomorrow at 09:00', 'Monday at 09:00' or 'today at 13:00', for the customer."""
        opening = self.next_opening(now)
        if opening is None:
            return ""
        local = self._local(now or datetime.now(timezone.utc))
        days = (opening.date() - local.date()).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else opening.strftime("%A")
        return f"{when} at {opening:%H:%M} ({self.zone})"
