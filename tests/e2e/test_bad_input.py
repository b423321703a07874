"""Bad input gets a clear 4xx, nothing is stored half-way, and the server keeps serving."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from bot.engine import RasaEngine
from tests.support import LiveServer, api, make_settings, rest


async def total_messages(http, server) -> int:
    status, body = await api(http, server, "/api/conversations?status=bot,queued,assigned,resolved&limit=500")
    total = 0
    for conversation in body["conversations"]:
        status, detail = await api(http, server, f"/api/conversations/{conversation['id']}")
        total += len(detail["messages"])
    return total


CASES = [
    (b'{"sender": "x", "message": ', "malformed_json", 400),
    (b'[1, 2, 3]', "malformed_json", 400),
    (b'{"message": "hi"}', "missing_sender", 400),
    (b'{"sender": {"a": 1}, "message": "hi"}', "bad_sender", 400),
    (b'{"sender": "x"}', "missing_message", 400),
    (b'{"sender": "x", "message": 42}', "missing_message", 400),
    (b'{"sender": "x", "message": "   "}', "empty_message", 400),
    (b'{"sender": "x", "message": "' + b"a" * 100_000 + b'"}', "body_too_large", 413),
    (b'{"sender": "x", "message": "' + b"a" * 5_000 + b'"}', "message_too_long", 413),
    (b'{"sender": "x", "message": "caf\xe9"}', "invalid_utf8", 400),
    (b'{"sender": "x", "message": "hi", "metadata": "nope"}', "bad_metadata", 400),
]


@pytest.mark.parametrize("body,code,status", CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
async def test_rest_rejects_bad_input_and_stores_nothing(server, body, code, status):
    async with aiohttp.ClientSession() as http:
        before = await total_messages(http, server)
        async with http.post(f"{server.url}/webhooks/rest/webhook", data=body,
                             headers={"Content-Type": "application/json"}) as response:
            assert response.status == status
            answer = await response.json()
        assert answer["error"] == code and answer["message"]
        assert await total_messages(http, server) == before
        # …and the server keeps serving.
        assert await rest(http, server, f"after-{uuid.uuid4().hex[:8]}", "hello")


async def test_unknown_channel_route_is_a_clear_404(server):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/webhooks/carrier-pigeon/webhook", json={}) as response:
            assert response.status == 404


async def test_a_model_that_fails_to_load_hands_every_message_off(tmp_path, model_path):
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"this is not a Rasa model")
    engine = RasaEngine(corrupt, timeout=5)
    engine.start()
    assert not engine.wait_ready_blocking(60)
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/baton.db", corrupt)
    server = LiveServer(settings, engine).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/healthz") as response:
                assert response.status == 200 and await response.json() == {"status": "ok"}
            async with http.get(f"{server.url}/readyz") as response:
                readiness = await response.json()
                assert response.status == 503
            # Not ready, and why; the model's path on disk is nobody's business.
            assert readiness == {"status": "not_ready", "model": "failed", "database": "ok"}
            replies = await rest(http, server, "someone", "hello")
            assert "queue" in replies[-1]["text"]
            status, body = await api(http, server, "/api/conversations?status=queued&external_id=someone")
            conversation = body["conversations"][0]
            assert conversation["handoff_reason"] == "bot_unavailable"
            status, detail = await api(http, server, f"/api/conversations/{conversation['id']}")
            assert detail["messages"][0]["text"] == "hello" and detail["messages"][0]["nlu"] is None
    finally:
        server.stop()
        engine.stop()
