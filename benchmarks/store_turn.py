"""The database part of one customer turn, alone: CPU milliseconds per turn, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/store_turn.py [--turns 400] [--postgres URL]

A turn writes what `ConversationFlow` writes: the customer's message (`record_inbound`), the bot's
tracker events (`TrackerEventStore.append`) and the turn's end (`finish_turn`, one bot reply),
16 customers at a time as in the REST benchmark. Without Rasa and HTTP around it, this number moves
far less between runs than end-to-end throughput on a shared machine, so it shows what a change to
the database path saves. On SQLite it is measured twice: with SQLAlchemy's own aiosqlite adapter
(every statement, commit and rollback a trip to aiosqlite's thread) and with Baton's
(`bot/store/sqlite_driver.py`: a whole transaction in one trip). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from sqlalchemy.pool import AsyncAdaptedQueuePool  # noqa: E402

from bot import jsonsafe  # noqa: E402
from bot.domain import InboundMessage, SenderKind  # noqa: E402
from bot.store.conversations import ConversationStore, MessageDraft  # noqa: E402
from bot.store.database import create_engine, migrate, session_factory, sqlite_pragmas  # noqa: E402
from bot.store.trackers import TrackerEventStore  # noqa: E402
from bot.store.transactions import settle  # noqa: E402

CONCURRENT = 16
EVENT = json.dumps({"event": "user", "text": "how long does delivery take?", "parse_data": {"intent": {
    "name": "ask_delivery_time", "confidence": 0.97}, "entities": []}})


def stock_sqlite_engine(url: str):
    """SQLAlchemy's own aiosqlite adapter, otherwise configured as Baton's engine (pool, pragmas)."""
    engine = create_async_engine(url, connect_args={"timeout": 30}, poolclass=AsyncAdaptedQueuePool, pool_size=1,
                                 max_overflow=0, pool_timeout=60, json_serializer=jsonsafe.dumps)
    event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


async def measure(url: str, turns: int, stock: bool = False) -> Dict[str, Any]:
    await migrate(url)
    engine = stock_sqlite_engine(url) if stock else create_engine(url)
    sessions = session_factory(engine)
    conversations, trackers = ConversationStore(sessions), TrackerEventStore(sessions)
    rows: Dict[str, int] = {}
    tag = f"bench-{time.time_ns()}"

    async def turn(i: int) -> None:
        stored = await conversations.record_inbound(
            InboundMessage("rest", f"{tag}-{i % CONCURRENT}", "how long does delivery take?"))
        key = stored.conversation.tracker_key
        first = rows.get(key, 0)
        await trackers.append(key, first, [EVENT] * 4)
        rows[key] = first + 4
        await conversations.finish_turn(
            stored.conversation, stored.message.id, {"intent": {"name": "ask_delivery_time", "confidence": 0.97}},
            [MessageDraft(SenderKind.BOT, "Delivery takes 3-5 working days.", in_reply_to_id=stored.message.id)],
            misses=0)

    try:
        for i in range(2 * CONCURRENT):   # warm-up: customers, conversations, statement caches
            await turn(i)
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, turns, CONCURRENT):
            await asyncio.gather(*(turn(start + j) for j in range(CONCURRENT)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await settle(engine)
        await engine.dispose()
    done = (turns // CONCURRENT) * CONCURRENT
    return {"turns": done, "cpu_ms_per_turn": round(1000 * cpu / done, 2),
            "wall_ms_per_turn": round(1000 * wall / done, 2)}


async def main_async(turns: int, postgres: Optional[str]) -> Dict[str, Any]:
    report: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="baton-store-turn-") as tmp:
        report["sqlite, SQLAlchemy's aiosqlite adapter (a trip per step)"] = await measure(
            f"sqlite+aiosqlite:///{tmp}/stock.db", turns, stock=True)
        report["sqlite, Baton's adapter (a trip per transaction)"] = await measure(f"sqlite+aiosqlite:///{tmp}/baton.db", turns)
    if postgres:
        report["postgresql (asyncpg)"] = await measure(postgres, turns)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure too (its tables are created)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.turns, args.postgres)), indent=1))


if __name__ == "__main__":
    main()
