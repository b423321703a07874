"""Satisfaction ratings: one answer per question asked, and the answers per agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import SenderKind
from bot.store.rows import agent_brief, message_view
from bot.store.tables import Message, Rating, User, utcnow
from bot.views import AgentBrief, MessageView


class NotARatingRequest(Exception):
    pass


class AlreadyRated(Exception):
    pass


@dataclass(frozen=True)
class AgentSatisfaction:
    agent: Optional[AgentBrief]
    ratings: int
    average: float

    def as_json(self) -> dict:
        return {"agent": self.agent.as_json() if self.agent else None, "ratings": self.ratings,
                "average": round(self.average, 2)}


class RatingStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def rate(self, request_message_id: int, conversation_id: int, score: int) -> MessageView:
        """Store the answer to the question in `request_message_id` and note it on that message.

        The question must be one asked in `conversation_id` (the customer's own conversation);
        a second answer to the same question is refused (AlreadyRated), however it arrives.
        """
        try:
            async with self.sessions() as session, session.begin():
                message = await session.get(Message, request_message_id)
                request = (message.payload or {}).get("rating_request") if message is not None else None
                if (message is None or message.conversation_id != conversation_id
                        or message.sender != SenderKind.SYSTEM.value or not isinstance(request, dict)):
                    raise NotARatingRequest(request_message_id)
                if request.get("score") is not None:
                    raise AlreadyRated(request_message_id)
                session.add(Rating(conversation_id=conversation_id, request_message_id=request_message_id,
                                   agent_id=request.get("agent_id"), score=score, created_at=utcnow()))
                payload = {**message.payload, "rating_request": {**request, "score": score}}
                await session.execute(update(Message).where(Message.id == request_message_id).values(payload=payload))
                await session.flush()
                message.payload = payload
                return message_view(message)
        except IntegrityError:
            raise AlreadyRated(request_message_id)

    async def per_agent(self, since: Optional[datetime] = None) -> List[AgentSatisfaction]:
        query = select(Rating.agent_id, func.count(), func.avg(Rating.score)).group_by(Rating.agent_id)
        if since is not None:
            query = query.where(Rating.created_at >= since)
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
            ids = {agent_id for agent_id, _, _ in rows if agent_id}
            users = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()} \
                if ids else {}
        found = [AgentSatisfaction(agent_brief(users.get(agent_id)), int(count), float(average or 0))
                 for agent_id, count, average in rows]
        return sorted(found, key=lambda a: (a.agent is None, a.agent.display_name if a.agent else ""))

    async def between(self, start: datetime, end: datetime) -> List[tuple]:
        """(agent id, score, when) of the answers in [start, end), oldest first."""
        async with self.sessions() as session:
            rows = (await session.execute(select(Rating.agent_id, Rating.score, Rating.created_at).where(
                Rating.created_at >= start, Rating.created_at < end).order_by(Rating.id))).all()
        aware = utcnow().tzinfo
        return [(a, s, c if c.tzinfo else c.replace(tzinfo=aware)) for a, s, c in rows]
