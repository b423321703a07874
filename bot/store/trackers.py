"""The bot's dialogue state, as an append-only list of serialised Rasa events per conversation.

Kept in Baton's own database, so a restart forgets no slot (an order number the customer gave)
and no pause (a conversation a person owns). The store knows nothing of Rasa: events are JSON text.
"""

from __future__ import annotations

from typing import List, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.tables import TrackerEvent
from bot.store.transactions import in_transaction


class TrackerConflict(Exception):
    """Another process appended to this tracker meanwhile."""


class TrackerEventStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.engine = sessions.kw["bind"]

    async def load(self, key: str, from_seq: int = 0) -> List[str]:
        """The conversation's events in order, from sequence number `from_seq` on."""
        return await in_transaction(self.engine, _load, key, from_seq)

    async def append(self, key: str, first_seq: int, events: Sequence[str]) -> None:
        if not events:
            return
        try:
            await in_transaction(self.engine, _insert, [
                {"conversation_key": key, "seq": first_seq + i, "data": data} for i, data in enumerate(events)])
        except IntegrityError:
            raise TrackerConflict(key)

    async def forget(self, key: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(delete(TrackerEvent).where(TrackerEvent.conversation_key == key))


def _load(session: Session, key: str, from_seq: int) -> List[str]:
    query = select(TrackerEvent.data).where(TrackerEvent.conversation_key == key)
    if from_seq:
        query = query.where(TrackerEvent.seq >= from_seq)
    return list(session.execute(query.order_by(TrackerEvent.seq)).scalars())


def _insert(session: Session, rows: List[dict]) -> None:
    # One executemany: the ORM would insert row by row to learn ids nobody reads.
    session.execute(insert(TrackerEvent), rows)
