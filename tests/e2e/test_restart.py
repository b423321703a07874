"""A restart forgets nothing: the bot's slots and pauses live in Baton's database, and messages that
arrive while the model is still loading wait for it instead of going to a person."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.engine import RasaEngine
from tests.support import LiveServer, api, create_pg_database, drop_pg_database, http_session, make_settings, rest


@pytest.fixture(scope="module")
def restarted_engine(model_path):
    """The model as a restarted process has it: loaded afresh, having seen none of these conversations."""
    fresh = RasaEngine(model_path, timeout=5.0)
    fresh.start()
    assert fresh.wait_ready_blocking(180), fresh.error
    yield fresh
    fresh.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/restart.db"
    else:
        url = create_pg_database()
        yield url
        drop_pg_database(url)


async def test_a_conversation_continues_with_its_slots_after_a_restart(database_url, engine, restarted_engine,
                                                                       model_path):
    settings = make_settings(database_url, model_path)
    who = f"restart-{uuid.uuid4().hex[:8]}"
    first = LiveServer(settings, engine).start()
    try:
        from agent_console.seed import seed_demo

        await first.acall(seed_demo(first.services.store.catalogue, first.services.accounts))
        async with http_session() as http:
            replies = await rest(http, first, who, "where is my order 12345?")
            assert any("e-mail address you placed order 12345" in r.get("text", "") for r in replies), replies
    finally:
        first.stop()

    second = LiveServer(make_settings(database_url, model_path, port=settings.port), restarted_engine).start()
    try:
        async with http_session() as http:
            # Only the e-mail this time: the bot still knows the order number, and that it asked for the e-mail.
            replies = await rest(http, second, who, "ada@example.com")
            assert any(r.get("text", "").startswith("Order 12345 (Rain jacket)") for r in replies), replies
            status, body = await api(http, second, f"/api/conversations?external_id={who}")
            conversation_id = body["conversations"][0]["id"]
            status, context = await api(http, second, f"/api/conversations/{conversation_id}/context")
            assert status == 200 and context["bot_memory"]["slots"].get("order_id") == "12345", context
    finally:
        second.stop()


async def test_a_paused_conversation_stays_paused_after_a_restart(database_url, engine, restarted_engine,
                                                                   model_path):
    settings = make_settings(database_url, model_path)
    who = f"restart-{uuid.uuid4().hex[:8]}"
    first = LiveServer(settings, engine).start()
    try:
        async with http_session() as http:
            await rest(http, first, who, "I want to talk to a person")
    finally:
        first.stop()
    second = LiveServer(make_settings(database_url, model_path, port=settings.port), restarted_engine).start()
    try:
        async with http_session() as http:
            status, body = await api(http, second, f"/api/conversations?status=queued&external_id={who}")
            conversation_id = body["conversations"][0]["id"]
            status, context = await api(http, second, f"/api/conversations/{conversation_id}/context")
            assert context["bot_memory"]["paused"] is True, context
            assert await rest(http, second, who, "hello?") == []   # still a person's conversation
    finally:
        second.stop()


async def test_messages_that_arrive_while_the_model_loads_are_answered_when_it_is_ready(tmp_path, model_path):
    loading = RasaEngine(model_path, timeout=10)
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/cold.db", model_path, model_wait_seconds=170)
    server = LiveServer(settings, loading).start()
    try:
        loading.start()          # the server already listens; the model loads from now on
        async with http_session() as http:
            async with http.get(f"{server.url}/readyz") as response:
                assert response.status == 503 and (await response.json())["model"] == "loading"
            async with http.get(f"{server.url}/healthz") as response:
                assert response.status == 200
            replies = await rest(http, server, "early-bird", "hi")
            assert replies and "queue" not in replies[-1]["text"], replies   # answered, not handed off
            async with http.get(f"{server.url}/readyz") as response:
                assert response.status == 200 and await response.json() == {
                    "status": "ready", "model": "ready", "database": "ok"}
    finally:
        server.stop()
        await asyncio.get_running_loop().run_in_executor(None, loading.stop)
