"""The bot's dialogue state, as an append-only list of serialised Rasa events per conversation.

Kept in Baton's own database, so a restart forgets no slot (an order number the customer gave)
and no pause (a conversation a person owns). The store knows nothing of Rasa: events are JSON text.
"""

from __future__ import annotations

from typing import List, Sequence

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.tables import TrackerEvent
from bot.store.transactions import in_transaction


_EVENTS = TrackerEvent.__table__
# Built once: every turn appends and (when trackers are shared) reads newer rows.
_INSERT = insert(_EVENTS)
_ALL = select(_EVENTS.c.data).where(_EVENTS.c.conversation_key == bindparam("b_key")).order_by(_EVENTS.c.seq)
_FROM = select(_EVENTS.c.data).where(_EVENTS.c.conversation_key == bindparam("b_key"),
                                     _EVENTS.c.seq >= bindparam("b_seq")).order_by(_EVENTS.c.seq)


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
    query, params = (_FROM, {"b_key": key, "b_seq": from_seq}) if from_seq else (_ALL, {"b_key": key})
    return list(session.connection().execute(query, params).scalars())


def _insert(session: Session, rows: List[dict]) -> None:
    # One executemany of a Core INSERT: the ORM would insert row by row to learn ids nobody reads.
    session.connection().execute(_INSERT, rows)
