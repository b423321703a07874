"""Reporting events: facts kept for reports and wait estimates, append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select

from bot.store.tables import ReportingEvent, utcnow


@dataclass(frozen=True)
class Fact:
    name: str
    conversation_id: int
    agent_id: Optional[int]
    channel: Optional[str]
    reason: Optional[str]
    value: Optional[float]
    detail: Optional[Dict[str, Any]]
    created_at: datetime


def _fact(row: ReportingEvent) -> Fact:
    created = row.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=utcnow().tzinfo)
    return Fact(row.name, row.conversation_id, row.agent_id, row.channel, row.reason, row.value, row.detail, created)


class ReportingStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def record(self, name: str, conversation_id: int, agent_id: Optional[int] = None,
                     channel: Optional[str] = None, reason: Optional[str] = None, value: Optional[float] = None,
                     detail: Optional[Dict[str, Any]] = None, at: Optional[datetime] = None) -> None:
        async with self.sessions() as session, session.begin():
            session.add(ReportingEvent(name=name, conversation_id=conversation_id, agent_id=agent_id,
                                       channel=channel, reason=reason, value=value, detail=detail,
                                       created_at=at or utcnow()))

    async def latest(self, conversation_id: int, *names: str) -> Optional[Fact]:
        """The conversation's newest fact among `names`."""
        async with self.sessions() as session:
            row = (await session.execute(select(ReportingEvent).where(
                ReportingEvent.conversation_id == conversation_id, ReportingEvent.name.in_(names))
                .order_by(ReportingEvent.id.desc()).limit(1))).scalar_one_or_none()
        return _fact(row) if row is not None else None

    async def recent_waits(self, since: datetime, limit: int) -> List[Tuple[float, Optional[float]]]:
        """(seconds waited, place in the queue at the start) of the latest claims: the estimate's input."""
        async with self.sessions() as session:
            rows = (await session.execute(select(ReportingEvent.value, ReportingEvent.detail).where(
                ReportingEvent.name == "queue_wait", ReportingEvent.created_at >= since)
                .order_by(ReportingEvent.id.desc()).limit(limit))).all()
        return [(float(value), float((detail or {}).get("position") or 1)) for value, detail in rows
                if value is not None]

    async def between(self, start: datetime, end: datetime, names: Tuple[str, ...] = ()) -> List[Fact]:
        query = select(ReportingEvent).where(ReportingEvent.created_at >= start, ReportingEvent.created_at < end)
        if names:
            query = query.where(ReportingEvent.name.in_(names))
        async with self.sessions() as session:
            rows = (await session.execute(query.order_by(ReportingEvent.id))).scalars().all()
        return [_fact(r) for r in rows]
