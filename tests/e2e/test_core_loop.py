"""The core loop end to end: real model, real server, real HTTP and Socket.IO clients, both databases."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp

from tests.support import WebChatClient, api, rest

GIBBERISH = ["qwzx vrrp klomf", "zzkv plorth wibbex"]


def sender() -> str:
    return f"customer-{uuid.uuid4().hex[:10]}"


async def conversation_of(session, server, conversation_id):
    status, body = await api(session, server, f"/api/conversations/{conversation_id}")
    assert status == 200, body
    return body


async def conversation_for_sender(session, server, external_id, channel="rest"):
    status, body = await api(session, server, f"/api/conversations?status=bot,queued,assigned,resolved"
                                              f"&channel={channel}&external_id={external_id}")
    assert status == 200 and len(body["conversations"]) == 1, body
    return await conversation_of(session, server, body["conversations"][0]["id"])


async def test_greeting_is_answered_by_the_bot(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        replies = await rest(http, server, who, "hello there")
        assert replies and all(r["recipient_id"] == who for r in replies)
        assert replies[0]["text"].strip()
        detail = await conversation_for_sender(http, server, who)
        assert detail["conversation"]["status"] == "bot"
        customer = detail["messages"][0]
        assert customer["sender"] == "customer" and customer["nlu"]["intent"] == "greet"
        assert customer["nlu"]["confidence"] > 0.5 and customer["nlu"]["ranking"]
        assert [m["sender"] for m in detail["messages"][1:]] == ["bot"] * len(replies)


async def test_order_status_is_answered_with_the_order_number(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        replies = await rest(http, server, who, "where is my order 12345?")
        detail = await conversation_for_sender(http, server, who)
        nlu = detail["messages"][0]["nlu"]
        assert nlu["intent"] == "order_status"
        assert {"entity": "order_id", "value": "12345"}.items() <= nlu["entities"][0].items()
        assert detail["conversation"]["status"] == "bot"
        assert any("12345" in r.get("text", "") for r in replies), replies


async def test_gibberish_is_rephrased_once_then_handed_off(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        first = await rest(http, server, who, GIBBERISH[0])
        assert len(first) == 1, first
        assert "rephrase" in first[0]["text"].lower() or "another way" in first[0]["text"], first
        detail = await conversation_for_sender(http, server, who)
        assert detail["conversation"]["status"] == "bot"
        second = await rest(http, server, who, GIBBERISH[1])
        assert "queue" in second[-1]["text"]
        detail = await conversation_for_sender(http, server, who)
        conversation = detail["conversation"]
        assert conversation["status"] == "queued"
        assert conversation["handoff_reason"] == "repeated_fallback"
        trigger = [m for m in detail["messages"] if m["is_handoff_trigger"]]
        assert [m["text"] for m in trigger] == [GIBBERISH[1]]


async def test_asking_for_a_person_hands_off_at_once(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        replies = await rest(http, server, who, "I want to talk to a person")
        assert len(replies) == 1 and "number" in replies[0]["text"] and "queue" in replies[0]["text"]
        detail = await conversation_for_sender(http, server, who)
        assert detail["conversation"]["status"] == "queued"
        assert detail["conversation"]["handoff_reason"] == "human_requested"
        assert detail["conversation"]["priority"] == 1
        status, queued = await api(http, server, "/api/conversations?status=queued")
        assert detail["conversation"]["id"] in [c["id"] for c in queued["conversations"]]
        # While a person owns the conversation the bot stays silent, but the message is kept.
        assert await rest(http, server, who, "hello?") == []
        detail = await conversation_for_sender(http, server, who)
        assert detail["messages"][-1]["text"] == "hello?" and detail["messages"][-1]["nlu"]["intent"]


async def test_a_crash_inside_the_bot_becomes_a_handoff(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        server.engine.fail_next = "crash"
        replies = await rest(http, server, who, "what are your opening hours?")
        assert "queue" in replies[-1]["text"]
        detail = await conversation_for_sender(http, server, who)
        assert detail["conversation"]["status"] == "queued"
        assert detail["conversation"]["handoff_reason"] == "bot_error"
        assert "injected fault" in detail["conversation"]["handoff_detail"]
        assert detail["messages"][0]["text"] == "what are your opening hours?"


async def test_a_bot_timeout_becomes_a_handoff(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        server.engine.fail_next = "timeout"
        replies = await rest(http, server, who, "how much is shipping?")
        assert "queue" in replies[-1]["text"]
        detail = await conversation_for_sender(http, server, who)
        assert detail["conversation"]["handoff_reason"] == "bot_timeout"


async def test_a_duplicate_delivery_is_stored_once(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        message_id = uuid.uuid4().hex
        first = await rest(http, server, who, "hi", message_id=message_id)
        again = await asyncio.gather(*[rest(http, server, who, "hi", message_id=message_id) for _ in range(3)])
        assert all(r == first for r in again)
        detail = await conversation_for_sender(http, server, who)
        customer_messages = [m for m in detail["messages"] if m["sender"] == "customer"]
        assert len(customer_messages) == 1
        assert len([m for m in detail["messages"] if m["sender"] == "bot"]) == len(first)


async def test_webchat_speaks_rasa_protocol_and_sessions_cannot_be_guessed(server):
    alice = await WebChatClient(server).connect()
    mallory = await WebChatClient(server).connect()
    try:
        alice_id = await alice.start_session(None)
        await alice.say("where is my order 12345?")
        replies = await alice.replies_until_quiet()
        assert any("12345" in r.get("text", "") for r in replies)

        # A made-up id, an altered one, and a look-alike all get a fresh session.
        forged = alice_id[:-2] + ("AA" if not alice_id.endswith("AA") else "BB")
        for attempt in (forged, "some-session-id", alice_id.split(".")[1]):
            got = await mallory.start_session(attempt)
            assert got != alice_id and got != attempt
        assert mallory.events.empty()
        # Sending on Alice's id from Mallory's connection is refused.
        await mallory.sio.emit("user_uttered", {"message": "show me", "session_id": alice_id})
        name, error = await mallory.next("error", "bot_uttered")
        assert name == "error" and error["error"] == "session_mismatch"
        await mallory.say("hello")
        mallory_replies = await mallory.replies_until_quiet()
        assert all("12345" not in r.get("text", "") for r in mallory_replies)
        await asyncio.sleep(0.5)
        # Nothing of Mallory's conversation reached Alice's socket.
        while not alice.events.empty():
            name, data = alice.events.get_nowait()
            assert name not in ("bot_uttered", "typing", "history"), (name, data)
        # The API never answers without credentials.
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/conversations") as response:
                assert response.status == 401
    finally:
        await alice.close()
        await mallory.close()


async def test_webchat_resumes_with_history_for_the_issued_id(server):
    first = await WebChatClient(server).connect()
    session_id = await first.start_session()
    await first.say("hi")
    await first.replies_until_quiet()
    await first.close()
    again = await WebChatClient(server, baton_protocol=True).connect()  # history is Baton's
    try:
        assert await again.start_session(session_id) == session_id
        _, history = await again.next("history")
        assert [m["sender"] for m in history["messages"]][:1] == ["customer"]
        assert history["messages"][0]["text"] == "hi"
        assert any(m["sender"] == "bot" for m in history["messages"])
    finally:
        await again.close()
