"""`in_transaction`: a body committed whole or not at all, on SQLite (one trip) and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.store.database import create_engine
from bot.store.transactions import in_transaction, settle


def _table():
    # A table of its own per test: the PostgreSQL database is shared by the session's tests.
    return Table(f"tx_{uuid.uuid4().hex[:8]}", MetaData(), Column("id", Integer, primary_key=True),
                 Column("name", String(40), unique=True, nullable=False), Column("n", Integer, default=0))


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/tx.db"
    return request.getfixturevalue("postgres_url")


async def _with_table(url, test):
    engine = create_engine(url)
    table = _table()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.create)
        return await test(engine, table)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)
        await settle(engine)
        await engine.dispose()


def test_a_body_commits_whole_or_not_at_all(database):
    async def test(engine, table):
        def add(session, name):
            session.execute(insert(table).values(name=name))
            return session.execute(select(func.count()).select_from(table)).scalar_one()

        assert await in_transaction(engine, add, "first") == 1

        def add_then_fail(session):
            session.execute(insert(table).values(name="half"))
            raise RuntimeError("after the first statement")

        with pytest.raises(RuntimeError):
            await in_transaction(engine, add_then_fail)
        with pytest.raises(IntegrityError):
            await in_transaction(engine, add, "first")   # a constraint, raised as SQLAlchemy raises it

        names = await in_transaction(engine, lambda s: s.execute(select(table.c.name)).scalars().all())
        assert names == ["first"]

    asyncio.run(_with_table(database, test))


def test_concurrent_bodies_each_see_their_own_transaction(database):
    async def test(engine, table):
        await in_transaction(engine, lambda s: s.execute(insert(table).values(name="counter", n=0)))

        def bump(session):
            current = session.execute(select(table.c.n).where(table.c.name == "counter")
                                      .with_for_update()).scalar_one()
            session.execute(update(table).where(table.c.name == "counter").values(n=current + 1))
            return current + 1

        seen = await asyncio.gather(*(in_transaction(engine, bump) for _ in range(25)))
        assert sorted(seen) == list(range(1, 26))   # no two bodies read the same value: no lost update
        final = await in_transaction(engine, lambda s: s.execute(select(table.c.n)).scalar_one())
        assert final == 25

    asyncio.run(_with_table(database, test))


def test_on_sqlite_the_body_runs_on_the_database_thread_not_the_loop(tmp_path):
    async def test(engine, table):
        loop_thread = threading.current_thread()
        where = await in_transaction(engine, lambda s: threading.current_thread())
        assert where is not loop_thread and where.name != "MainThread"

    asyncio.run(_with_table(f"sqlite+aiosqlite:///{tmp_path}/thread.db", test))


def test_a_failing_body_fails_only_its_caller_and_the_queue_goes_on(database):
    async def test(engine, table):
        def add(session, name):
            session.execute(insert(table).values(name=name))
            if name.startswith("bad"):
                raise ValueError(name)
            return name

        names = ["ok-1", "bad-1", "ok-2", "bad-2", "ok-3"] * 4
        names = [f"{n}-{i}" for i, n in enumerate(names)]
        outcomes = await asyncio.gather(*(in_transaction(engine, add, n) for n in names), return_exceptions=True)
        for name, outcome in zip(names, outcomes):
            if name.startswith("bad"):
                assert isinstance(outcome, ValueError) and str(outcome) == name
            else:
                assert outcome == name
        stored = await in_transaction(engine, lambda s: sorted(s.execute(select(table.c.name)).scalars()))
        assert stored == sorted(n for n in names if not n.startswith("bad"))   # the failed ones rolled back

    asyncio.run(_with_table(database, test))


def test_a_caller_that_stops_waiting_does_not_stall_the_others(tmp_path):
    async def test(engine, table):
        def slow(session, name):
            session.execute(insert(table).values(name=name))
            return name

        waiting = asyncio.ensure_future(in_transaction(engine, slow, "given-up"))
        others = [asyncio.ensure_future(in_transaction(engine, slow, f"n{i}")) for i in range(5)]
        waiting.cancel()
        assert await asyncio.gather(*others) == [f"n{i}" for i in range(5)]
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await in_transaction(engine, slow, "after") == "after"

    asyncio.run(_with_table(f"sqlite+aiosqlite:///{tmp_path}/cancel.db", test))


def test_a_database_that_cannot_be_opened_is_an_error_for_every_caller_not_a_hang(tmp_path):
    async def run():
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db")
        try:
            for _ in range(2):   # and again: the queue is not left thinking a drain is running
                outcomes = await asyncio.wait_for(asyncio.gather(
                    *(in_transaction(engine, lambda s: 1) for _ in range(3)), return_exceptions=True), 10)
                assert all(isinstance(o, OperationalError) for o in outcomes), outcomes
        finally:
            await settle(engine)
            await engine.dispose()

    asyncio.run(run())


def test_orm_work_and_core_statements_share_the_body_transaction(database):
    """The ORM session a body asks for joins the body's transaction: pending objects are flushed and
    committed with the Core statements, or rolled back with them; a Core-only body makes no session."""
    from sqlalchemy.orm import registry

    async def test(engine, table):
        class Row:
            pass

        registry().map_imperatively(Row, table)

        def both(session, name, fail):
            session.connection().execute(insert(table).values(name=f"{name}-core"))
            row = Row()
            row.name = f"{name}-orm"
            session.add(row)   # left pending: the end of the body flushes it
            if fail:
                session.flush()
                raise RuntimeError("after both writes")

        await in_transaction(engine, both, "kept", False)
        with pytest.raises(RuntimeError):
            await in_transaction(engine, both, "dropped", True)
        names = await in_transaction(engine, lambda s: sorted(s.connection().execute(select(table.c.name)).scalars()))
        assert names == ["kept-core", "kept-orm"]

        seen = []

        def core_only(session):
            seen.append(session)
            return session.connection().execute(select(func.count()).select_from(table)).scalar_one()

        assert await in_transaction(engine, core_only) == 2
        assert seen[0]._session is None, "a body that used only its connection should not have made an ORM session"

    asyncio.run(_with_table(database, test))


def test_bodies_that_queue_up_share_one_commit_and_each_is_committed_before_its_caller_hears(database):
    """Group commit: bodies that waited together are committed together (one COMMIT, one fsync,
    instead of one each), and no caller is answered before the COMMIT that holds its write: another
    connection, as another process would open it, already sees the row."""
    import sqlite3

    import asyncpg
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    async def test(engine, table):
        commits = []
        event.listen(engine.sync_engine, "commit", lambda conn: commits.append(1))

        def add(session, name):
            session.execute(insert(table).values(name=name))
            return name

        async def committed_elsewhere(name):
            query = f"SELECT count(*) FROM {table.name} WHERE name = "
            if database.startswith("sqlite"):
                with sqlite3.connect(make_url(database).database) as other:
                    return other.execute(query + "?", (name,)).fetchone()[0]
            other = await asyncpg.connect(database.replace("+asyncpg", ""))
            try:
                return await other.fetchval(query + "$1", name)
            finally:
                await other.close()

        async def add_and_check(name):
            assert await in_transaction(engine, add, name) == name
            return await committed_elsewhere(name)

        names = [f"n{i}" for i in range(60)]
        seen = await asyncio.gather(*(add_and_check(n) for n in names))
        assert seen == [1] * len(names), "a caller heard back before its row was committed"
        assert 1 <= len(commits) < len(names) // 2, f"{len(commits)} commits for {len(names)} bodies queued at once"

    asyncio.run(_with_table(database, test))


def test_a_failure_in_a_group_is_only_the_failing_bodys(database):
    """A constraint that fails in one body of a group (through the ORM's flush, which rolls the whole
    connection back) fails that caller alone; the others' writes are kept, each exactly once."""
    from sqlalchemy.orm import registry

    async def test(engine, table):
        class Row:
            pass

        registry().map_imperatively(Row, table)
        await in_transaction(engine, lambda s: s.execute(insert(table).values(name="taken")))

        def add(session, name):
            row = Row()
            row.name = name
            session.add(row)
            session.flush()   # "taken" raises here: a unique constraint
            return name

        names = [f"a{i}" for i in range(10)] + ["taken"] + [f"b{i}" for i in range(10)]
        outcomes = await asyncio.gather(*(in_transaction(engine, add, n) for n in names), return_exceptions=True)
        for name, outcome in zip(names, outcomes):
            if name == "taken":
                assert isinstance(outcome, IntegrityError)
            else:
                assert outcome == name
        stored = await in_transaction(engine, lambda s: sorted(s.execute(select(table.c.name)).scalars()))
        assert stored == sorted(names)   # each once; "taken" is the row that was there before

    asyncio.run(_with_table(database, test))
