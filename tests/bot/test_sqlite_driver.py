"""The one-trip SQLite adapter gives what SQLAlchemy's own aiosqlite adapter gives, in fewer trips."""

from __future__ import annotations

import asyncio

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.store.database import create_engine
from bot.store.sqlite_driver import OneTripDbapi

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(40), unique=True, nullable=False), Column("size", Integer))


def _engine(path, one_trip: bool):
    if one_trip:
        return create_engine(f"sqlite+aiosqlite:///{path}")
    return create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=AsyncAdaptedQueuePool, pool_size=1,
                               max_overflow=0)


async def _workload(engine):
    """Every kind of statement a turn uses, and the errors it can meet; returns what was seen."""
    seen = {}
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with engine.begin() as conn:
        first = await conn.execute(insert(items).values(name="jacket", size=3))
        seen["inserted_pk"] = first.inserted_primary_key[0]
        many = await conn.execute(insert(items), [{"name": f"shoe-{i}", "size": i} for i in range(5)])
        seen["many_rowcount"] = many.rowcount
        changed = await conn.execute(update(items).where(items.c.size >= 3).values(size=items.c.size + 10))
        seen["updated"] = changed.rowcount
        none_changed = await conn.execute(update(items).where(items.c.name == "nobody").values(size=1))
        seen["updated_none"] = none_changed.rowcount
        rows = (await conn.execute(select(items.c.name, items.c.size).order_by(items.c.id))).all()
        seen["rows"] = [tuple(r) for r in rows]
        seen["keys"] = list((await conn.execute(select(items.c.name.label("label")))).keys())
        seen["empty"] = (await conn.execute(select(items).where(items.c.id < 0))).all()
        seen["scalar"] = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="jacket"))
    with pytest.raises(OperationalError):
        async with engine.begin() as conn:
            await conn.execute(text("SELECT nope FROM nowhere"))
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="rolled-back"))
            raise RuntimeError("the transaction must roll back")
    async with engine.connect() as conn:
        seen["after_errors"] = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
        streamed = await conn.stream(select(items.c.name).order_by(items.c.id))   # a server-side cursor
        seen["streamed"] = [row[0] async for row in streamed]
    return seen


def test_one_trip_adapter_gives_what_sqlalchemys_own_gives(tmp_path):
    async def run(one_trip: bool):
        engine = _engine(tmp_path / f"{one_trip}.db", one_trip)
        try:
            return await _workload(engine)
        finally:
            await engine.dispose()

    ours, theirs = asyncio.run(run(True)), asyncio.run(run(False))
    assert ours == theirs
    assert ours["rows"][0] == ("jacket", 13) and ours["many_rowcount"] == 5 and ours["updated"] == 3
    assert ours["after_errors"] == 6 and "rolled-back" not in ours["streamed"]


def test_a_statement_is_one_trip_to_the_connection_thread(tmp_path, monkeypatch):
    trips = []
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(fn)
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

    async def trips_for(one_trip: bool) -> int:
        engine = _engine(tmp_path / f"trips-{one_trip}.db", one_trip)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            async with engine.connect() as conn:
                await conn.execute(select(items))   # the connection is open and set up
                trips.clear()
                for _ in range(10):
                    await conn.execute(select(items).where(items.c.id == 1))
                return len(trips)
        finally:
            await engine.dispose()

    assert asyncio.run(trips_for(True)) == 10
    assert asyncio.run(trips_for(False)) == 40


def test_sqlite_engines_use_the_one_trip_adapter(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    try:
        assert isinstance(engine.dialect.dbapi, OneTripDbapi)
    finally:
        asyncio.run(engine.dispose())
