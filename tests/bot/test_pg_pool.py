"""PostgreSQL connections are kept, not opened and closed under a load larger than the pool."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.store import database
from bot.store.transactions import in_transaction


def _which_backend(session) -> int:
    # A short wait keeps many transactions open at once, as a busy server's turns are.
    return session.connection().execute(text("SELECT pg_backend_pid() FROM pg_sleep(0.02)")).scalar_one()


async def test_more_transactions_at_once_than_connections_wait_for_one_and_reuse_it(postgres_url):
    engine = database.create_engine(postgres_url, pool_size=4)
    try:
        backends = []
        for _ in range(3):
            backends += await asyncio.gather(*(in_transaction(engine, _which_backend) for _ in range(40)))
        assert len(backends) == 120
        # An overflow connection is closed when it is checked in to a full pool: each round would
        # have started new backends (and paid PostgreSQL's start-up for each).
        assert len(set(backends)) <= 4
        assert engine.sync_engine.pool.checkedout() == 0
    finally:
        await engine.dispose()


async def test_the_pool_size_comes_from_settings(postgres_url, tmp_path):
    from bot.settings import Settings
    from bot.store import Store

    settings = Settings(database_url=postgres_url, database_pool_size=7, data_dir=tmp_path)
    store = Store.open(settings.database_url, None, settings.database_pool_size)
    try:
        assert store.engine.sync_engine.pool.size() == 7
        await store.ping()
    finally:
        await store.close()
