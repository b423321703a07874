"""The store: one database, one module per aggregate, typed views out.

`Store` bundles them on one engine. Nothing outside `bot/store/` imports `tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.accounts import AccountStore
from bot.store.catalogue import CatalogueStore
from bot.store.conversations import ConversationStore
from bot.store.database import POOL_SIZE, create_engine, session_factory
from bot.store.models import ModelStore, SettingsStore
from bot.store.outbox import OutboxStore
from bot.store.ratings import RatingStore
from bot.store.reporting import ReportingStore
from bot.store.search import ConversationSearch
from bot.store.tags import TagStore
from bot.store.review import ReviewStore
from bot.store.trackers import TrackerEventStore
from bot.store.transactions import settle
from bot.store.waiting import WaitingStore


@dataclass
class Store:
    engine: AsyncEngine
    conversations: ConversationStore
    accounts: AccountStore
    catalogue: CatalogueStore
    outbox: OutboxStore
    trackers: TrackerEventStore
    review: ReviewStore
    models: ModelStore
    settings: SettingsStore
    waiting: WaitingStore
    reporting: ReportingStore
    ratings: RatingStore
    search: ConversationSearch
    tags: TagStore

    @classmethod
    def open(cls, url: str, worker_lock_dir: Optional[Path] = None, pool_size: int = POOL_SIZE) -> "Store":
        engine = create_engine(url, worker_lock_dir, pool_size)
        sessions = session_factory(engine)
        conversations = ConversationStore(sessions)
        return cls(engine, conversations, AccountStore(sessions), CatalogueStore(sessions),
                   OutboxStore(sessions), TrackerEventStore(sessions), ReviewStore(sessions), ModelStore(sessions),
                   SettingsStore(sessions), WaitingStore(sessions), ReportingStore(sessions),
                   RatingStore(sessions), ConversationSearch(sessions, conversations), TagStore(sessions))

    async def ping(self) -> None:
        """Raises when the database cannot be reached (readiness)."""
        from sqlalchemy import text

        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await settle(self.engine)
        await self.engine.dispose()
