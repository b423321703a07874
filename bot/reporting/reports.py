"""Simple reports from the reporting facts: per day and per agent.

- conversations per day (opened: new ones and ones a customer came back to), and the share the bot
  handled end to end (no handoff between opening and the next opening);
- handoffs by reason;
- time to the first agent reply after a handoff, and resolution time (medians, seconds);
- satisfaction (average answer, 1–5, and how many answered).
Days are the business's own (its time zone), so "Monday" means the team's Monday.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from bot.store.accounts import AccountStore
from bot.store.ratings import RatingStore
from bot.store.reporting import Fact, ReportingStore

MAX_DAYS = 92


def _median(values: List[float]) -> Optional[float]:
    return round(statistics.median(values), 1) if values else None


def _average(values: List[float]) -> Optional[float]:
    return round(sum(values) / len(values), 2) if values else None


@dataclass
class _Bucket:
    opened: int = 0
    handed: int = 0
    reasons: Counter = None
    first_replies: List[float] = None
    resolutions: List[float] = None
    resolved: int = 0
    scores: List[int] = None

    def __post_init__(self) -> None:
        self.reasons = Counter()
        self.first_replies, self.resolutions, self.scores = [], [], []

    def as_json(self) -> Dict[str, Any]:
        return {"conversations": self.opened, "bot_only": self.opened - self.handed,
                "bot_share": round((self.opened - self.handed) / self.opened, 3) if self.opened else None,
                "handoffs": dict(self.reasons), "first_reply_seconds": _median(self.first_replies),
                "resolution_seconds": _median(self.resolutions), "resolved": self.resolved,
                "satisfaction": _average(self.scores), "ratings": len(self.scores)}


class Reports:
    def __init__(self, reporting: ReportingStore, ratings: RatingStore, accounts: AccountStore,
                 zone: str = "UTC") -> None:
        self.reporting = reporting
        self.ratings = ratings
        self.accounts = accounts
        self.zone = zone

    async def between(self, first: date, last: date) -> Dict[str, Any]:
        """Every day from `first` to `last` (inclusive, the business's days), totals, and per agent."""
        if last < first:
            raise ValueError("the period ends before it starts")
        if (last - first).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")
        zone = ZoneInfo(self.zone)
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
        # Openings from before the period still tell whether a handoff in it was the bot's miss.
        facts = await self.reporting.between(start - timedelta(days=7), end)
        ratings = await self.ratings.between(start, end)

        def day_of(moment: datetime) -> date:
            return moment.astimezone(zone).date()

        days: Dict[date, _Bucket] = {first + timedelta(days=i): _Bucket() for i in range((last - first).days + 1)}
        total, agents = _Bucket(), defaultdict(_Bucket)
        for opened, handed in self._segments(facts):
            if start <= opened.created_at < end:
                for bucket in (days[day_of(opened.created_at)], total):
                    bucket.opened += 1
                    bucket.handed += 1 if handed else 0
        for fact in facts:
            if not start <= fact.created_at < end:
                continue
            buckets = [days[day_of(fact.created_at)], total]
            if fact.agent_id is not None:
                buckets.append(agents[fact.agent_id])
            for bucket in buckets:
                if fact.name == "handed_off":
                    bucket.reasons[fact.reason or "unknown"] += 1
                elif fact.name == "first_reply" and fact.value is not None:
                    bucket.first_replies.append(fact.value)
                elif fact.name == "resolved":
                    bucket.resolved += 1
                    if fact.value is not None:
                        bucket.resolutions.append(fact.value)
        for agent_id, score, when in ratings:
            for bucket in (days[day_of(when)], total, *([agents[agent_id]] if agent_id is not None else [])):
                bucket.scores.append(score)
        people = {u.id: u for u in await self.accounts.list(active_only=False)}
        return {
            "from": first.isoformat(), "to": last.isoformat(), "timezone": self.zone,
            "days": [{"day": d.isoformat(), **b.as_json()} for d, b in sorted(days.items())],
            "totals": total.as_json(),
            "agents": sorted(({"agent": people[a].as_json() if a in people else {"id": a}, **b.as_json()}
                              for a, b in agents.items()),
                             key=lambda row: str(row["agent"].get("display_name") or row["agent"]["id"])),
        }

    @staticmethod
    def _segments(facts: List[Fact]):
        """(opened fact, whether a handoff followed before the conversation's next opening)."""
        by_conversation: Dict[int, List[Fact]] = defaultdict(list)
        for fact in facts:
            if fact.name in ("opened", "handed_off"):
                by_conversation[fact.conversation_id].append(fact)
        for items in by_conversation.values():
            current: Optional[Fact] = None
            handed = False
            for fact in items:
                if fact.name == "opened":
                    if current is not None:
                        yield current, handed
                    current, handed = fact, False
                else:
                    handed = True
            if current is not None:
                yield current, handed
