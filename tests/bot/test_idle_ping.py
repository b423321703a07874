"""A pooled PostgreSQL connection that died while idle is replaced before use; one in steady use is not pinged."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.store import database


async def _backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _kill(url: str, pid: int) -> None:
    other = database.create_engine(url)
    try:
        async with other.connect() as connection:
            assert (await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
            for _ in range(100):   # the signal is sent at once; the backend ends a moment later
                gone = (await connection.execute(text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"),
                                                 {"pid": pid})).scalar_one()
                await connection.rollback()   # pg_stat_activity is a snapshot per transaction
                if gone:
                    break
                await asyncio.sleep(0.02)
            assert gone
    finally:
        await other.dispose()


async def test_a_connection_killed_while_idle_is_found_by_the_ping_and_replaced(postgres_url, monkeypatch):
    monkeypatch.setattr(database, "IDLE_BEFORE_PING_SECONDS", 0.0)
    engine = database.create_engine(postgres_url)
    pings = []
    real_ping = engine.dialect.do_ping

    def ping(connection):
        try:
            alive = real_ping(connection)
        except Exception:   # a dead connection may fail its ping rather than answer False
            pings.append(False)
            raise
        pings.append(alive)
        return alive

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    try:
        first = await _backend_pid(engine)
        await _kill(postgres_url, first)
        assert await _backend_pid(engine) != first
        assert False in pings, "the dead connection should have been found by a ping, not by the query"
    finally:
        await engine.dispose()


async def test_connections_in_steady_use_are_not_pinged(postgres_url, monkeypatch):
    engine = database.create_engine(postgres_url)
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    try:
        for _ in range(20):
            await _backend_pid(engine)
        assert pings == []
    finally:
        await engine.dispose()
