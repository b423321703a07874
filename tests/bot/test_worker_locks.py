"""The locks worker processes share: one turn per customer (bot/turn_locks.py) and one SQLite
transaction at a time (bot/store/process_gate.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot import turn_locks
from bot.settings import PROJECT_ROOT
from bot.turn_locks import TurnLocks


# A free lock is taken at once; the bound only matters when the machine is busy (the whole suite on
# two cores once made a free lock take longer than 0.3 s), so "not held" waits long before it fails.
FREE_WITHIN = 5.0


async def _held_by_someone(locks: TurnLocks, customer: str, seconds: float = 0.3) -> bool:
    async def take() -> None:
        async with locks.hold("rest", customer):
            pass

    try:
        await asyncio.wait_for(take(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


async def test_a_customers_turn_on_one_worker_holds_back_the_same_customer_on_another(tmp_path: Path):
    a, b = TurnLocks(tmp_path), TurnLocks(tmp_path)
    try:
        async with a.hold("rest", "ada"):
            assert await _held_by_someone(b, "ada")
            assert not await _held_by_someone(b, "grace", FREE_WITHIN)   # another customer goes on
        assert not await _held_by_someone(b, "ada", FREE_WITHIN)
    finally:
        a.close()
        b.close()


async def test_customers_sharing_a_slot_on_one_worker_do_not_block_each_other(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(turn_locks, "SLOTS", 1)   # every customer in one slot
    a, b = TurnLocks(tmp_path), TurnLocks(tmp_path)
    try:
        async with a.hold("rest", "ada"):
            async with a.hold("rest", "grace"):       # same slot, same worker: no wait on itself
                assert await _held_by_someone(b, "linus")
            assert await _held_by_someone(b, "linus")   # ada's turn still holds the slot
        assert not await _held_by_someone(b, "linus", FREE_WITHIN)
    finally:
        a.close()
        b.close()


async def test_a_waiter_that_gives_up_does_not_keep_the_customer_locked(tmp_path: Path):
    a, b, c = TurnLocks(tmp_path), TurnLocks(tmp_path), TurnLocks(tmp_path)
    try:
        async with a.hold("rest", "ada"):
            waiting = asyncio.ensure_future(_enter_and_stay(b, "ada"))
            await asyncio.sleep(0.2)                    # b waits for the byte, in a thread
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        # a let go; b's thread then took the byte for a caller who is gone, and gave it back.
        for _ in range(50):
            if not await _held_by_someone(c, "ada", 0.1):
                break
        else:
            pytest.fail("the abandoned wait kept the customer locked")
    finally:
        for locks in (a, b, c):
            locks.close()


async def _enter_and_stay(locks: TurnLocks, customer: str) -> None:
    async with locks.hold("rest", customer):
        await asyncio.sleep(3600)


async def test_a_worker_that_dies_mid_turn_releases_its_customers(tmp_path: Path):
    script = textwrap.dedent(f"""
        import asyncio, os, sys
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        from bot.turn_locks import TurnLocks

        async def main():
            locks = TurnLocks({str(tmp_path)!r})
            async with locks.hold("rest", "ada"):
                print("holding", flush=True)
                await asyncio.sleep(3600)

        asyncio.run(main())
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    locks = TurnLocks(tmp_path)
    try:
        assert child.stdout.readline().strip() == "holding"
        assert await _held_by_someone(locks, "ada")
        child.kill()
        child.wait(10)
        assert not await _held_by_someone(locks, "ada", 2.0)
    finally:
        locks.close()
        if child.poll() is None:
            child.kill()


COUNTER = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from sqlalchemy import text
    from bot.store.database import create_engine
    from bot.store.transactions import in_transaction

    def bump(session):
        # Read, then write what was read plus one: two writers without a gate lose updates.
        value = session.execute(text("SELECT value FROM counter")).scalar_one()
        session.execute(text("UPDATE counter SET value = :v"), {{"v": value + 1}})

    async def main():
        engine = create_engine({url!r}, {lock_dir!r})
        for _ in range({times}):
            await in_transaction(engine, bump)
            async with engine.connect() as connection:   # and plain reads between, as a server does
                await connection.execute(text("SELECT value FROM counter"))
        await engine.dispose()

    asyncio.run(main())
""")


def test_two_processes_writing_one_sqlite_file_lose_nothing(tmp_path: Path):
    import sqlite3

    db = tmp_path / "shared.db"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE counter (value INTEGER NOT NULL)")
        connection.execute("INSERT INTO counter VALUES (0)")
    script = COUNTER.format(root=str(PROJECT_ROOT), url=f"sqlite+aiosqlite:///{db}", lock_dir=str(tmp_path),
                            times=150)
    writers = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    errors = [writer.communicate(timeout=300)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0], errors
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT value FROM counter").fetchone()[0] == 450
