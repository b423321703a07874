"""The customer web chat spoken exactly as Rasa's socketio channel documents it, with no browser.

A plain python-socketio client: `session_request {session_id: null}` → `session_confirm`,
`user_uttered {message, session_id, customData}` → `bot_uttered`. Without `baton_protocol` in
its session_request a client is any Rasa widget and gets Rasa's exact key sets; with it, Baton's
richer shape. One live Baton on SQLite whose allow-list names only the shop's origin, and one
with a tight per-session rate limit.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import aiohttp
import pytest
import socketio

from tests.support import (
    LiveServer, WebChatClient, api, conversation_detail, conversation_id_of, make_settings,
)

SHOP = "http://shop.example"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def baton(tmp_path_factory, faulty_engine, model_path):
    """Baton whose BATON_ALLOWED_ORIGINS lists only the shop."""
    db = tmp_path_factory.mktemp("webchat-protocol") / "baton.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path, allowed_origins=[SHOP]),
                      faulty_engine).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def strict_baton(tmp_path_factory, faulty_engine, model_path):
    """Baton that lets one chat session send only three messages a minute."""
    db = tmp_path_factory.mktemp("webchat-ratelimit") / "baton.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path, customer_messages_per_minute=3),
                      faulty_engine).start()
    yield live
    live.stop()


async def next_matching(client: WebChatClient, name: str, predicate: Callable[[Any], bool] = lambda d: True,
                        timeout: float = 20) -> Any:
    """The next `name` event whose data satisfies `predicate`; other events are skipped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {name} event matching the check within {timeout} s")
        event, data = await asyncio.wait_for(client.events.get(), remaining)
        if event == name and predicate(data):
            return data


async def turn_done(client: WebChatClient, timeout: float = 20) -> None:
    """The server says the bot stopped typing: it has handled the message we just sent."""
    await next_matching(client, "typing", lambda d: d == {"who": "bot", "typing": False}, timeout)


async def customer(server: LiveServer, baton_protocol: bool = False, session_id: Optional[str] = None,
                   **headers: str) -> WebChatClient:
    client = await WebChatClient(server, headers=headers or None, baton_protocol=baton_protocol).connect()
    await client.start_session(session_id)
    return client


# Rasa 3.6's SocketIOOutput sends exactly these keys; rasa-webchat drops a message with any other.
RASA_TEXT = {"text"}
RASA_BUTTONS = {"text", "quick_replies"}
QUICK_REPLY = {"content_type", "title", "payload"}


async def everything_until_quiet(client: WebChatClient, quiet: float = 1.5) -> List[Tuple[str, Any]]:
    """Every event the client receives until none arrives for `quiet` s."""
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(client.events.get(), quiet))
        except asyncio.TimeoutError:
            return got


async def hand_off(server: LiveServer, client: WebChatClient) -> int:
    """The customer asks for a person; returns the conversation, once queued."""
    await client.say("I want to talk to a person")
    await next_matching(client, "bot_uttered", lambda d: "queue" in d.get("text", ""))
    conversation_id = await conversation_id_of(server, client.session_id)
    assert conversation_id is not None
    return conversation_id


async def claim_and_reply(server: LiveServer, conversation_id: int, text: str) -> Dict[str, Any]:
    """An agent takes the conversation and answers, through the HTTP API; returns the stored reply."""
    async with aiohttp.ClientSession() as http:
        status, body = await api(http, server, f"/api/conversations/{conversation_id}/claim", "POST")
        assert status == 200 and body["conversation"]["status"] == "assigned", body
        status, body = await api(http, server, f"/api/conversations/{conversation_id}/reply", "POST",
                                 json={"text": text})
        assert status == 200, body
    return body["message"]


async def test_greeting_offers_quick_replies_in_rasa_shape(baton):
    client = await customer(baton)
    try:
        assert client.confirmed == client.session_id, "Rasa sends the bare session id"
        await client.say("hello", customData={"page_url": f"{SHOP}/"})
        replies = await client.replies_until_quiet()
        offered = [r for r in replies if r.get("quick_replies")]
        assert offered, f"the greeting response has buttons, but no quick_replies came: {replies}"
        assert set(offered[0]) == RASA_BUTTONS, offered[0]
        quick = offered[0]["quick_replies"]
        assert all(set(q) == QUICK_REPLY and q["content_type"] == "text" for q in quick)
        assert {"title": "Track my order", "payload": "/order_status"} in [
            {"title": q["title"], "payload": q["payload"]} for q in quick]
        assert isinstance(offered[0]["text"], str) and offered[0]["text"].strip()
        assert all(set(r) in (RASA_TEXT, RASA_BUTTONS) for r in replies), replies
    finally:
        await client.close()


async def test_custom_data_is_kept_on_the_conversation(baton):
    client = await customer(baton)
    page = f"{SHOP}/products/{uuid.uuid4().hex[:6]}?ref=mail"
    try:
        await client.say("what are your opening hours?", customData={"page_url": page, "language": "en-GB"})
        await client.replies_until_quiet()
        conversation_id = await conversation_id_of(baton, client.session_id)
        assert conversation_id is not None
        async with aiohttp.ClientSession() as http:
            detail = await conversation_detail(http, baton, conversation_id)
        assert detail["conversation"]["channel"] == "webchat"
        assert detail["conversation"]["metadata"]["page_url"] == page
    finally:
        await client.close()


async def test_a_rasa_client_gets_rasa_shapes_for_answers_notices_and_agents(baton):
    client = await customer(baton)
    try:
        await client.say("what are your opening hours?")
        answers = await client.replies_until_quiet()
        assert answers and all(set(a) == RASA_TEXT for a in answers), answers

        await client.say("I want to talk to a person")
        notice = await next_matching(client, "bot_uttered")
        assert notice == {"text": notice["text"]} and "queue" in notice["text"], notice
        conversation_id = await conversation_id_of(baton, client.session_id)
        text = f"Hello, this is a person ({uuid.uuid4().hex[:6]})\n\nI'm looking at your order now."
        await claim_and_reply(baton, conversation_id, text)
        # The join notice, then the reply split into paragraphs, as Rasa sends a text.
        received = [data for name, data in await everything_until_quiet(client) if name == "bot_uttered"]
        assert all(set(d) == RASA_TEXT for d in received), received
        assert "joined" in received[0]["text"], received
        assert received[1:] == [{"text": part} for part in text.split("\n\n")]
    finally:
        await client.close()

    again = await customer(baton, session_id=client.session_id)
    try:
        assert again.confirmed == client.session_id
        assert [name for name, _ in await everything_until_quiet(again)] == [], "Rasa sends no history"
    finally:
        await again.close()


async def test_a_baton_client_gets_the_richer_shape(baton):
    client = await customer(baton, baton_protocol=True)
    try:
        assert client.confirmed == {"session_id": client.session_id, "baton_protocol": 1,
                                    "max_message_chars": baton.settings.max_message_chars,
                                    "widget": {}}   # no widget defaults set by an admin
        await client.say("hello")
        answers = await client.replies_until_quiet()
        assert answers and all("sender" not in a and isinstance(a["message_id"], int) for a in answers), answers

        conversation_id = await hand_off(baton, client)
        text = f"Hello, this is a person ({uuid.uuid4().hex[:6]})\n\nI'm looking at your order now."
        stored = await claim_and_reply(baton, conversation_id, text)
        reply = await next_matching(client, "bot_uttered", lambda d: d.get("sender") == "agent")
        assert reply == {"text": text, "sender": "agent", "agent_name": stored["agent"]["display_name"],
                         "message_id": stored["id"]}
    finally:
        await client.close()

    again = await customer(baton, baton_protocol=True, session_id=client.session_id)
    try:
        _, history = await again.next("history")
        assert history["session_id"] == client.session_id
        assert [m["text"] for m in history["messages"] if m["sender"] == "customer"] == [
            "hello", "I want to talk to a person"]
        assert {"sender": "agent", "text": text, "agent_name": stored["agent"]["display_name"],
                "message_id": stored["id"]} in history["messages"]
    finally:
        await again.close()


async def test_a_rasa_and_a_baton_widget_on_one_session_each_get_their_own_shape(baton):
    baton_widget = await customer(baton, baton_protocol=True)
    rasa_widget = await customer(baton, session_id=baton_widget.session_id)
    try:
        assert rasa_widget.session_id == baton_widget.session_id

        await rasa_widget.say("I want to talk to a person")
        await next_matching(rasa_widget, "bot_uttered", lambda d: "queue" in d["text"])
        conversation_id = await conversation_id_of(baton, rasa_widget.session_id)
        stored = await claim_and_reply(baton, conversation_id, "One message\n\nin two paragraphs")

        seen_by_rasa = [d for name, d in await everything_until_quiet(rasa_widget) if name == "bot_uttered"]
        seen_by_baton = [d for name, d in await everything_until_quiet(baton_widget) if name == "bot_uttered"]
        assert all(set(d) == RASA_TEXT for d in seen_by_rasa), seen_by_rasa
        assert "joined" in seen_by_rasa[0]["text"], seen_by_rasa
        assert seen_by_rasa[1:] == [{"text": "One message"}, {"text": "in two paragraphs"}], seen_by_rasa
        assert [d["sender"] for d in seen_by_baton] == ["system", "system", "agent"], seen_by_baton
        assert "queue" in seen_by_baton[0]["text"] and "joined" in seen_by_baton[1]["text"]
        assert seen_by_baton[-1]["message_id"] == stored["id"]
        assert seen_by_baton[-1]["text"] == "One message\n\nin two paragraphs"
    finally:
        await rasa_widget.close()
        await baton_widget.close()


async def test_bad_payloads_get_an_error_and_nothing_is_stored(baton):
    client = await WebChatClient(baton).connect()
    try:
        await client.sio.emit("user_uttered", {"message": "before any session", "session_id": None})
        _, data = await client.next("error", "bot_uttered")
        assert data["error"] == "no_session"

        session_id = await client.start_session(None)
        bad: List[Tuple[Any, str]] = [
            ({"message": "x" * 100_000, "session_id": session_id}, "message_too_long"),
            ({"message": 42, "session_id": session_id}, "missing_message"),
            ({"message": ["hello"], "session_id": session_id}, "missing_message"),
            ({"session_id": session_id}, "missing_message"),
            ({"message": "   ", "session_id": session_id}, "empty_message"),
            ({"message": "hi\x00there", "session_id": session_id}, "bad_message"),
            ({"message": "hello", "session_id": session_id, "customData": "page=/x"}, "bad_metadata"),
            ("hello", "malformed"),
            (["hello", session_id], "malformed"),
        ]
        for payload, code in bad:
            await client.sio.emit("user_uttered", payload)
            name, data = await client.next("error", "bot_uttered")
            assert (name, data.get("error")) == ("error", code), (str(payload)[:80], name, data)
            assert isinstance(data.get("message"), str) and data["message"]
        assert client.sio.connected
        assert await conversation_id_of(baton, session_id) is None, "a refused payload was stored"

        # The same connection still chats, and only the good message is kept.
        await client.say("hello")
        replies = await client.replies_until_quiet()
        assert replies and replies[0]["text"].strip()
        conversation_id = await conversation_id_of(baton, session_id)
        async with aiohttp.ClientSession() as http:
            detail = await conversation_detail(http, baton, conversation_id)
        assert [m["text"] for m in detail["messages"] if m["sender"] == "customer"] == ["hello"]
    finally:
        await client.close()


async def test_rate_limit_stops_the_customer_but_not_the_agent(strict_baton):
    client = await customer(strict_baton, baton_protocol=True)
    try:
        await client.say("I want to talk to a person")
        # (`typing: false` precedes the replies, so the handoff notice marks the end of this turn.)
        await next_matching(client, "bot_uttered", lambda d: d.get("sender") == "system")
        for text in ("are you there?", "hello?"):
            await client.say(text)
            await turn_done(client)
        await client.say("one too many")
        name, data = await client.next("error", "bot_uttered")
        assert (name, data["error"]) == ("error", "rate_limited"), data
        assert client.sio.connected

        conversation_id = await conversation_id_of(strict_baton, client.session_id)
        async with aiohttp.ClientSession() as http:
            status, body = await api(http, strict_baton, f"/api/conversations/{conversation_id}/claim", "POST")
            assert status == 200, body
            sent = []
            for n in range(5):
                status, body = await api(http, strict_baton, f"/api/conversations/{conversation_id}/reply",
                                         "POST", json={"text": f"agent line {n}"})
                assert status == 200, (n, body)
                sent.append(body["message"]["text"])
            got = [(await next_matching(client, "bot_uttered", lambda d: d.get("sender") == "agent"))["text"]
                   for _ in sent]
            assert got == sent
            detail = await conversation_detail(http, strict_baton, conversation_id)
        customer_texts = [m["text"] for m in detail["messages"] if m["sender"] == "customer"]
        assert customer_texts == ["I want to talk to a person", "are you there?", "hello?"]
    finally:
        await client.close()


async def test_a_disallowed_origin_is_refused_at_connect(baton):
    evil = WebChatClient(baton, headers={"Origin": EVIL})
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await evil.connect()
        assert not evil.sio.connected
    finally:
        await evil.close()  # releases the client's HTTP session

    shop = await customer(baton, Origin=SHOP)
    try:
        assert baton.services.webchat.signer.verify(shop.session_id)
    finally:
        await shop.close()


async def test_rest_channel_answers_the_shop_and_refuses_other_origins(baton):
    body = {"sender": f"rest-{uuid.uuid4().hex[:8]}", "message": "hello"}
    async with aiohttp.ClientSession() as http:
        url = f"{baton.url}/webhooks/rest/webhook"
        async with http.post(url, json=body, headers={"Origin": EVIL}) as response:
            assert response.status == 403
            assert "Access-Control-Allow-Origin" not in response.headers
            assert (await response.json())["error"] == "origin_not_allowed"
        async with http.post(url, json=body, headers={"Origin": SHOP}) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == SHOP
            replies = await response.json()
            assert replies and replies[0]["recipient_id"] == body["sender"]


async def test_batons_own_pages_may_still_connect(baton):
    """The demo shop at Baton's `/` embeds the widget from Baton itself (same origin)."""
    own = WebChatClient(baton, headers={"Origin": baton.url})
    try:
        await own.connect()
    except socketio.exceptions.ConnectionError as exc:
        await own.close()
        raise AssertionError(
            f"Baton's own origin {baton.url} was refused with allowed_origins={[SHOP]}: "
            "bot/app.py _same_origin_too() expects (origin, environ) but Engine.IO calls it with the origin "
            "only, so the same-origin check never sees the Host") from exc
    try:
        assert (await own.start_session(None))
    finally:
        await own.close()
