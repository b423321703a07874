"""Worker processes that share a database: a customer may reach any of them, message by message.

`baton serve --workers N` lets the kernel spread connections over N processes, so consecutive
messages of one customer land on different workers. Each keeps Rasa trackers between turns;
the one that served the customer two turns ago holds a tracker that lacks the turn in between.
These tests send a conversation that depends on that turn (the order form: the bot asks for a
number, then for an e-mail address) alternately through two servers on one database, and
then run the real command with two worker processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List

import aiohttp
import pytest

from bot.engine import RasaEngine
from bot.settings import PROJECT_ROOT
from tests.e2e.test_dialogue import ASK_EMAIL, ASK_NUMBER, seeded, texts
from tests.e2e.test_serve_command import ServeProcess
from tests.support import REDIS_URL, free_port, rest


@pytest.fixture(scope="module")
def second_engine(model_path):
    """A worker of its own loads its own model: one shared Rasa agent would serialise the two
    servers' turns itself (its lock store), hiding whether the workers' own locks do."""
    engine = RasaEngine(model_path, timeout=5.0)
    engine.start()
    assert engine.wait_ready_blocking(180), engine.error
    yield engine
    engine.stop()


@pytest.fixture
def two_workers(start_server, fresh_database, tmp_path, engine, second_engine):
    """Two servers as two workers of one deployment: one database, one lock directory, one secret."""
    shared = dict(worker_lock_dir=tmp_path / "locks", secret_key="workers-" + uuid.uuid4().hex)
    (tmp_path / "locks").mkdir()
    a = start_server(fresh_database, engine=engine, **shared)
    b = start_server(fresh_database, engine=second_engine, **shared)
    return a, b


async def test_a_customer_moving_between_workers_keeps_the_conversation(two_workers, caplog):
    a, b = two_workers
    await seeded(a)
    who = f"moving-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        assert ASK_NUMBER in texts(await rest(http, a, who, "where is my order?"))
        # B has never seen this customer: it reads the tracker A stored.
        assert ASK_EMAIL in texts(await rest(http, b, who, "12345"))
        # A still holds its tracker from the first turn, without B's turn: it must catch up
        # (asked for the e-mail address), or it would read this as a new question.
        answer = texts(await rest(http, a, who, "it's ada@example.com"))
        assert answer.startswith("Order 12345 (Rain jacket) shipped on ") and "DHL" in answer, answer
        # Back on B, whose tracker still waits for the e-mail address: caught up, it knows the
        # form is done and the order and address are known, so it answers straight away.
        again = texts(await rest(http, b, who, "where is my order?"))
        assert again.startswith("Order 12345 (Rain jacket) shipped on "), again
    assert a.services.engine.backend.trackers.hits >= 1   # A served turn 3 from its cache, caught up
    assert "changed during a late turn" not in caplog.text   # no worker ever wrote over another's turn
    assert await _user_texts(a, who) == ["where is my order?", "12345", "it's ada@example.com", "where is my order?"]


async def _user_texts(server, who: str) -> List[str]:
    """What the customer said, in the order the bot's stored tracker has it."""
    return [event["text"] for event in await _tracker(server, who) if event["event"] == "user"]


async def _tracker(server, who: str) -> List[Dict[str, Any]]:
    conversations = server.services.conversations
    conversation = await server.acall(conversations.get(await server.acall(conversations.latest_conversation_for(
        "rest", who))))
    return [json.loads(row) for row in await server.acall(server.services.store.trackers.load(conversation.tracker_key))]


async def test_two_workers_answer_one_customer_in_the_order_sent(two_workers):
    """A customer's messages sent at once to both workers are still answered one turn at a time."""
    a, b = two_workers
    for server in (a, b):   # slow saves: a turn that did not wait would overlap the other worker's
        _slow_saves(server.services.store.trackers)
    who = f"burst-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        await rest(http, a, who, "hello")
        questions = ["what are your opening hours?", "do you ship abroad?", "how do I reset my password?",
                     "what payment methods do you accept?", "can I change my delivery address?", "thanks"]
        replies = await asyncio.gather(*[rest(http, (a, b)[i % 2], who, q) for i, q in enumerate(questions)])
    assert all(replies), replies   # every message answered
    stored = await _tracker(a, who)
    users = [event["text"] for event in stored if event["event"] == "user"]
    # Every message is in the bot's memory exactly once: no turn was dropped for a conflict.
    assert sorted(users) == sorted(["hello", *questions]), users
    # Turns did not interleave: each customer message is followed by that turn's bot answer.
    kinds = [event["event"] for event in stored if event["event"] in ("user", "bot")]
    assert kinds == ["user", "bot"] * 7, kinds


def _slow_saves(trackers) -> None:
    append = trackers.append

    async def slowly(*args, **kwargs):
        await asyncio.sleep(0.2)
        return await append(*args, **kwargs)

    trackers.append = slowly


def _rows(db: Path, query: str, *args: Any) -> List[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query, args).fetchall()


async def test_baton_serve_with_two_worker_processes(tmp_path: Path, model_path: Path):
    port = free_port()
    db = tmp_path / "workers.db"
    env = {"BATON_REDIS_URL": REDIS_URL, "BATON_REDIS_CHANNEL": f"baton-test-{uuid.uuid4().hex}",
           "BATON_REST_MESSAGES_PER_MINUTE_PER_SENDER": "10000"}
    serve = ServeProcess("--workers", "2", "--port", str(port), "--database-url", f"sqlite:///{db}",
                         "--model", str(model_path), env=env)
    try:
        serve.wait_for_line("Stop with Ctrl+C.")
        assert "Baton is running: 2 worker processes on one port." in serve.lines
        workers = _children(serve.process.pid)
        assert len(workers) == 2, workers
        senders = [f"w-{i}-{uuid.uuid4().hex[:6]}" for i in range(8)]
        questions = ["hello", "what are your opening hours?", "do you ship abroad?", "thanks"]
        base = f"http://127.0.0.1:{port}"

        async def customer(http, who: str) -> List[List[Dict[str, Any]]]:
            answers = []
            for question in questions:
                async with http.post(f"{base}/webhooks/rest/webhook",
                                     json={"sender": who, "message": question}) as response:
                    assert response.status == 200, await response.text()
                    answers.append(await response.json())
            return answers

        # A connection per request: the kernel picks a worker for each, so customers move between them.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            answers = await asyncio.gather(*[customer(http, who) for who in senders])
        assert all(all(turn) for turns in answers for turn in turns), answers
        for who in senders:
            [(uid,)] = _rows(db, "SELECT c.uid FROM conversations c JOIN channel_identities i "
                                 "ON c.identity_id = i.id WHERE i.external_id = ?", who)
            stored = [json.loads(data) for (data,) in _rows(
                db, "SELECT data FROM tracker_events WHERE conversation_key = ? ORDER BY seq", f"conversation-{uid}")]
            assert [e["text"] for e in stored if e["event"] == "user"] == questions, who
        assert not [line for line in serve.lines if "late turn" in line or "Traceback" in line], serve.lines
    finally:
        code = serve.stop()
    assert code == 0, "\n".join(serve.lines)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"


def test_workers_without_redis_are_refused_with_the_reason(tmp_path: Path, model_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "BATON_REDIS_URL"}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--workers", "2", "--port", str(free_port()),
                          "--database-url", f"sqlite:///{tmp_path}/x.db", "--model", str(model_path)],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out
    assert "--workers needs Redis (BATON_REDIS_URL" in out.stderr


def _children(pid: int) -> List[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"
