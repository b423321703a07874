"""Issue 13, the hardening audit: a regression test for every finding, through real clients.

Each test names its finding. The shared `server` runs on SQLite and PostgreSQL; findings about
per-address counters get servers of their own (`start_server`), because every test client is
127.0.0.1 to a shared server. Customers "on other networks" connect from other loopback
addresses (127.0.0.2, 127.0.0.3, …), so the server really sees different peers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
import socketio
from aiohttp import web
from socketio import packet
from yarl import URL

from tests.support import (
    VIEWPORT, AgentClient, LiveServer, WebChatClient, add_user, api, conversation_detail, conversation_id_of,
    free_port, from_address, http_session, logged_in, login, rest, strict_json,
)


def sender() -> str:
    return f"hardening-{uuid.uuid4().hex[:10]}"


def good_password() -> str:
    return "Tr4nquil-" + uuid.uuid4().hex[:12]


async def raw_post(server: LiveServer, path: str, body: bytes, headers: Optional[Dict[str, str]] = None,
                   auth: bool = False) -> Tuple[int, Any]:
    """POST exact bytes; returns the status and the JSON answer (strictly parsed)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if auth:
        sent["Authorization"] = f"Bearer {server.settings.admin_token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(server.url + path, data=body, headers=sent) as response:
            return response.status, strict_json(await response.read())


async def new_chat(server: LiveServer, address: Optional[str] = None,
                   forwarded_for: Optional[str] = None) -> Tuple[str, Any]:
    """Open a fresh web chat; ("session_confirm", id) or ("error", {error, message})."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    client = await WebChatClient(server, headers=headers, address=address).connect()
    try:
        await client.sio.emit("session_request", {"session_id": None})
        return await client.next("session_confirm", "error", timeout=10)
    finally:
        await client.close()


async def handed_off_via_rest(http, server: LiveServer) -> Tuple[str, int]:
    who = sender()
    await rest(http, server, who, "I want to talk to a person")
    status, body = await api(http, server, f"/api/conversations?status=queued&external_id={who}")
    assert status == 200 and len(body["conversations"]) == 1, body
    return who, body["conversations"][0]["id"]


class StrictRecordingJson:
    """The JSON module of a Socket.IO client that parses like a browser and keeps what it read."""

    failures: List[str] = []

    @staticmethod
    def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        return json.dumps(value, *args, **kwargs)

    @staticmethod
    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return strict_json(text)
        except ValueError as exc:
            StrictRecordingJson.failures.append(f"{exc}: {text[:300]}")
            raise


class StrictPacket(packet.Packet):
    json = StrictRecordingJson


# ---- 1. one client could block every new web chat ------------------------------------------------

async def test_new_chat_limit_counts_each_peer_address(start_server):
    """Engine.IO reports every client as 127.0.0.1; the limit must count the real peer instead."""
    live = start_server(new_sessions_per_minute_per_ip=2)
    for _ in range(2):
        event, _ = await new_chat(live, address="127.0.0.2")
        assert event == "session_confirm"
    event, refused = await new_chat(live, address="127.0.0.2")
    assert event == "error" and refused["error"] == "rate_limited" and refused["message"]
    # A customer on another network is not blocked by the first one's flood.
    for address in ("127.0.0.3", "127.0.0.4"):
        event, session_id = await new_chat(live, address=address)
        assert event == "session_confirm" and session_id


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(start_server):
    behind_proxy = start_server(new_sessions_per_minute_per_ip=1, trusted_proxies=["127.0.0.1/32"])
    # The proxy (peer 127.0.0.1) names each customer's address: each gets their own budget.
    assert (await new_chat(behind_proxy, forwarded_for="203.0.113.7"))[0] == "session_confirm"
    assert (await new_chat(behind_proxy, forwarded_for="203.0.113.8"))[0] == "session_confirm"
    assert (await new_chat(behind_proxy, forwarded_for="203.0.113.7"))[0] == "error"
    # Anyone else who sends the header is counted by their own peer address, whatever it claims.
    assert (await new_chat(behind_proxy, address="127.0.0.2", forwarded_for="198.51.100.1"))[0] == "session_confirm"
    event, refused = await new_chat(behind_proxy, address="127.0.0.2", forwarded_for="198.51.100.2")
    assert event == "error" and refused["error"] == "rate_limited"

    exposed = start_server(new_sessions_per_minute_per_ip=1)  # no trusted proxies configured
    assert (await new_chat(exposed, forwarded_for="203.0.113.7"))[0] == "session_confirm"
    assert (await new_chat(exposed, forwarded_for="203.0.113.8"))[0] == "error"


async def raw_event(sio: socketio.AsyncClient, namespace: str, json_text: str) -> Any:
    """Send a Socket.IO EVENT packet whose JSON part is exactly `json_text`; returns its answer."""
    answered: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
    ack_id = sio._generate_ack_id(namespace, lambda *data: answered.set_result(data[0] if data else None))
    await sio.eio.send(f"2{'' if namespace == '/' else namespace + ','}{ack_id}{json_text}")
    return await asyncio.wait_for(answered, 10)


async def test_a_client_cannot_send_connect_to_choose_its_address(start_server):
    """python-socketio handed a client's own `connect` event to on_connect, its payload as the environ.

    A customer could send `["connect", {"REMOTE_ADDR": …}]` before each new chat and never meet
    the per-address limit.
    """
    live = start_server(new_sessions_per_minute_per_ip=1)
    client = await WebChatClient(live, address="127.0.0.2").connect()
    try:
        assert (await client.sio.call("session_request", {"session_id": None}, timeout=10))["ok"]
        refused = await raw_event(client.sio, "/", '["connect", {"REMOTE_ADDR": "10.9.8.7"}]')
        assert refused["ok"] is False and refused["error"] == "malformed" and "connect" in refused["message"]
        again = await client.sio.call("session_request", {"session_id": None}, timeout=10)
        assert again["ok"] is False and again["error"] == "rate_limited"
        for not_an_event in ("[]", "null", '{"event": "typing"}', '["disconnect"]'):
            refused = await raw_event(client.sio, "/", not_an_event)
            assert refused["ok"] is False and refused["error"] == "malformed", not_an_event
    finally:
        await client.close()


async def test_rest_limits_each_sender_and_each_address(start_server):
    """The REST channel was open to anyone without a limit; every message runs the model."""
    live = start_server(rest_messages_per_minute_per_sender=2, rest_requests_per_minute_per_address=5)
    url = f"{live.url}/webhooks/rest/webhook"
    async with from_address("127.0.0.2") as http:
        chatty = sender()
        for _ in range(2):
            async with http.post(url, json={"sender": chatty, "message": "hello"}) as r:
                assert r.status == 200
        async with http.post(url, json={"sender": chatty, "message": "hello"}) as r:
            assert r.status == 429 and (await r.json())["error"] == "rate_limited"
            assert 1 <= int(r.headers["Retry-After"]) <= 60
        for _ in range(2):  # other senders from the same address, up to its limit of 5 requests
            async with http.post(url, json={"sender": sender(), "message": "hello"}) as r:
                assert r.status == 200
        async with http.post(url, json={"sender": sender(), "message": "hello"}) as r:
            assert r.status == 429 and "address" in (await r.json())["message"]
            assert int(r.headers["Retry-After"]) >= 1
    async with from_address("127.0.0.3") as http:
        async with http.post(url, json={"sender": sender(), "message": "hello"}) as r:
            assert r.status == 200 and await r.json()


# ---- 2. one customer message could take every agent console offline ---------------------------------

async def test_nan_in_custom_data_is_refused_and_consoles_still_parse(server):
    """python's json writes NaN; the server must refuse it and never send invalid JSON to a console."""
    token, _ = await logged_in(server, "agent")
    customer = await WebChatClient(server).connect()
    try:
        await customer.start_session()
        answer = await customer.sio.call("user_uttered", {
            "message": "I want to talk to a person", "session_id": customer.session_id,
            "customData": {"score": float("nan"), "limit": float("inf"), "page": "/checkout"}}, timeout=20)
        assert answer["ok"] is False and answer["error"] == "malformed" and "NaN" in answer["message"]
        _, shown = await customer.next("error")
        assert shown["error"] == "malformed"
        assert await conversation_id_of(server, customer.session_id) is None  # nothing was stored
        await customer.say("I want to talk to a person", customData={"page": "/checkout", "cart": 3})
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(server, customer.session_id)
    finally:
        await customer.close()

    async with http_session() as http:
        headers = {"Authorization": f"Bearer {server.settings.admin_token}"}
        async with http.get(f"{server.url}/api/conversations", headers=headers) as r:
            assert r.status == 200
            listed = strict_json(await r.read())
    assert conversation_id in [c["id"] for c in listed["conversations"]]

    StrictRecordingJson.failures.clear()
    agent = AgentClient(server, token, serializer=StrictPacket)
    await agent.connect()
    try:
        queue = await agent.wait_for("queue")
        assert conversation_id in [c["id"] for c in queue["conversations"]]
    finally:
        await agent.close()
    assert StrictRecordingJson.failures == []


async def test_non_finite_numbers_are_refused_at_every_http_entry(server):
    async with http_session() as http:
        _, conversation_id = await handed_off_via_rest(http, server)
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        status, body = await raw_post(server, "/webhooks/rest/webhook",
                                      b'{"sender": "%s", "message": "hi", "metadata": {"x": %s}}'
                                      % (sender().encode(), constant))
        assert status == 400 and body["error"] == "malformed_json" and body["message"]
        status, body = await raw_post(server, f"/api/conversations/{conversation_id}/notes",
                                      b'{"text": "note", "weight": %s}' % constant, auth=True)
        assert status == 400 and body["error"] == "malformed_json"


async def test_a_nan_already_in_the_database_still_goes_out_as_valid_json(server):
    """An older Baton stored NaN metadata (SQLite keeps it; PostgreSQL's json type never could)."""
    if server.backend != "sqlite":
        pytest.skip("PostgreSQL's json type cannot hold NaN, so no such row can exist there")
    from sqlalchemy import text

    token, _ = await logged_in(server, "agent")
    async with http_session() as http:
        _, conversation_id = await handed_off_via_rest(http, server)

    async def poison() -> None:
        async with server.services.store.engine.begin() as connection:
            await connection.execute(text("UPDATE conversations SET metadata = :m WHERE id = :id"),
                                     {"m": '{"score": NaN, "limit": Infinity}', "id": conversation_id})

    await server.acall(poison())
    async with http_session() as http:
        headers = {"Authorization": f"Bearer {server.settings.admin_token}"}
        async with http.get(f"{server.url}/api/conversations", headers=headers) as r:
            assert r.status == 200 and strict_json(await r.read())
        async with http.get(f"{server.url}/api/conversations/{conversation_id}/context", headers=headers) as r:
            assert r.status == 200 and strict_json(await r.read())
    StrictRecordingJson.failures.clear()
    agent = AgentClient(server, token, serializer=StrictPacket)
    await agent.connect()
    try:
        queue = await agent.wait_for("queue")
        assert conversation_id in [c["id"] for c in queue["conversations"]]
        opened = await agent.call("open", {"conversation_id": conversation_id})
        assert opened["ok"]
    finally:
        await agent.close()
    assert StrictRecordingJson.failures == []


async def test_a_non_finite_number_past_the_edges_is_stored_as_valid_json(server):
    """Edges refuse NaN; should one come from inside (a model's score, a listener), the write still works.

    Without the store's strict serializer PostgreSQL refused the whole turn and SQLite stored `NaN`.
    """
    from bot.domain import InboundMessage

    who = sender()
    stored = await server.acall(server.services.conversations.record_inbound(InboundMessage(
        channel="rest", external_id=who, text="hello", metadata={"score": float("nan"), "page": "/cart"})))
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {server.settings.admin_token}"}
        async with http.get(f"{server.url}/api/conversations/{stored.conversation.id}/context",
                            headers=headers) as r:
            context = strict_json(await r.read())
    assert r.status == 200 and context["customer"]["metadata"] == {"score": None, "page": "/cart"}


# ---- 3. a reused message_id returned another customer's answers ------------------------------------

async def test_message_ids_are_scoped_to_their_sender_on_rest(server):
    shared_id = f"form-{uuid.uuid4().hex[:8]}"
    first, second = sender(), sender()
    async with http_session() as http:
        handed = await rest(http, server, first, "I want to talk to a person", message_id=shared_id)
        assert "queue" in handed[-1]["text"]
        answered = await rest(http, server, second, "what are your opening hours?", message_id=shared_id)
        assert answered and all(r["recipient_id"] == second for r in answered)
        assert all("queue" not in (r.get("text") or "") for r in answered)
        # Each sender's own re-delivery is still recognised: the same answer, nothing stored twice.
        assert await rest(http, server, first, "I want to talk to a person", message_id=shared_id) == handed
        status, body = await api(http, server, f"/api/conversations?status=bot&external_id={second}")
        detail = await conversation_detail(http, server, body["conversations"][0]["id"])
        assert [m["text"] for m in detail["messages"] if m["sender"] == "customer"] == [
            "what are your opening hours?"]


async def test_message_ids_are_scoped_to_their_session_on_web_chat(server):
    shared_id = f"widget-{uuid.uuid4().hex[:8]}"
    first, second = WebChatClient(server), WebChatClient(server)
    try:
        for client in (first, second):
            await client.connect()
            await client.start_session()
        await first.say("I want to talk to a person", message_id=shared_id)
        assert "queue" in (await first.replies_until_quiet())[-1]["text"]
        await second.say("what are your opening hours?", message_id=shared_id)
        replies = await second.replies_until_quiet()
        assert replies and all("queue" not in (r.get("text") or "") for r in replies)
        assert await conversation_id_of(server, second.session_id) != await conversation_id_of(
            server, first.session_id)
    finally:
        await first.close()
        await second.close()


# ---- 4. valid bodies in more than one TCP segment got a 400 -----------------------------------------

async def post_in_segments(server: LiveServer, path: str, body: bytes) -> Tuple[int, Any]:
    """Headers first, then the body in two parts with pauses, on a raw socket (as slow networks do)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.3)
        middle = len(body) // 2
        for part in (body[:middle], body[middle:]):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.3)
        response = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), strict_json(payload)


async def test_bodies_split_across_tcp_segments_are_read_whole(server):
    who = sender()
    status, replies = await post_in_segments(server, "/webhooks/rest/webhook",
                                             json.dumps({"sender": who, "message": "hello there"}).encode())
    assert status == 200 and replies and replies[0]["recipient_id"] == who
    username, password, _ = await add_user(server, "agent")
    status, answer = await post_in_segments(server, "/api/login",
                                            json.dumps({"username": username, "password": password}).encode())
    assert status == 200 and answer["user"]["username"] == username


# ---- 5. agent sockets kept working after logout, expiry or deactivation ------------------------------

async def test_logout_ends_the_agents_socket(server):
    username, password, _ = await add_user(server, "agent")
    async with http_session() as http:
        token = await login(http, server, username, password)
        agent = await AgentClient(server, token).connect()
        try:
            await agent.wait_for("queue")
            assert (await agent.call("presence", {"status": "online"}))["ok"]
            async with http.post(f"{server.url}/api/logout") as r:
                assert r.status == 200
            await asyncio.wait_for(agent.ended.wait(), 10)
        finally:
            await agent.close()
    async with http_session() as http:
        async with http.get(f"{server.url}/api/me", cookies={"baton_session": token}) as r:
            assert r.status == 401
    with pytest.raises(socketio.exceptions.ConnectionError):
        await AgentClient(server, token).connect()


async def test_an_expired_login_stops_the_socket_at_its_next_event(server):
    """The namespace checks the login on every event; expiry is simulated by moving expires_at back."""
    from sqlalchemy import update

    from agent_console.accounts import session_digest
    from bot.store.tables import AuthSession

    token, _ = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    try:
        await agent.wait_for("queue")
        assert (await agent.call("presence", {"status": "online"}))["ok"]

        async def expire() -> None:
            async with server.services.store.engine.begin() as connection:
                await connection.execute(update(AuthSession).where(AuthSession.id == session_digest(token))
                                         .values(expires_at=datetime(2001, 1, 1, tzinfo=timezone.utc)))

        await server.acall(expire())
        answer = await agent.call("presence", {"status": "away"}, timeout=10)
        assert answer["ok"] is False and answer["error"] == "unauthenticated" and answer["message"]
        await asyncio.wait_for(agent.ended.wait(), 10)
    finally:
        await agent.close()


@pytest.mark.parametrize("how", ["deactivate", "patch"])
async def test_deactivating_a_user_ends_their_sessions_and_sockets(server, how):
    username, password, user_id = await add_user(server, "agent")
    async with http_session() as http:
        token = await login(http, server, username, password)
    agent = await AgentClient(server, token).connect()
    try:
        await agent.wait_for("queue")
        async with http_session() as http:
            if how == "deactivate":
                status, body = await api(http, server, f"/api/users/{user_id}/deactivate", "POST")
                assert status == 200 and body["sessions_ended"] == 1
            else:
                status, body = await api(http, server, f"/api/users/{user_id}", "PATCH", json={"active": False})
                assert status == 200
            assert body["user"]["active"] is False
        await asyncio.wait_for(agent.ended.wait(), 10)
    finally:
        await agent.close()
    async with http_session() as http:
        async with http.get(f"{server.url}/api/me", cookies={"baton_session": token}) as r:
            assert r.status == 401
        async with http.post(f"{server.url}/api/login", json={"username": username, "password": password}) as r:
            assert r.status == 401


# ---- 6. the admin token was also a permanent admin password -------------------------------------------

async def bearer_status(server: LiveServer, token: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status


async def login_status(server: LiveServer, username: str, password: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/login", json={"username": username, "password": password}) as r:
            return r.status


async def test_the_admin_token_is_only_a_bearer_token(server):
    token = server.settings.admin_token
    assert await bearer_status(server, token) == 200
    assert await login_status(server, "api", token) == 401
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/me", cookies={"baton_session": token}) as r:
            assert r.status == 401
        # A wrong Bearer token is a refusal, not a fall-back to the cookie.
        agent_token, _ = await logged_in(server, "agent")
        async with http.get(f"{server.url}/api/me", cookies={"baton_session": agent_token},
                            headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401


async def test_a_rotated_admin_token_stops_the_old_one(start_server, fresh_database):
    import bcrypt

    old, new = "old-token-" + uuid.uuid4().hex, "new-token-" + uuid.uuid4().hex
    first = start_server(fresh_database, admin_token=old)
    assert await bearer_status(first, old) == 200
    # An older Baton made the token the `api` account's password; that must not survive a restart.
    api_user = await first.acall(first.services.accounts.by_username("api"))
    hashed = bcrypt.hashpw(old.encode(), bcrypt.gensalt(rounds=4)).decode()
    await first.acall(first.services.store.accounts.set_password_hash(api_user.id, hashed))
    first.stop()

    second = start_server(fresh_database, admin_token=new)
    assert await bearer_status(second, new) == 200
    assert await bearer_status(second, old) == 401
    assert await login_status(second, "api", old) == 401
    assert await login_status(second, "api", new) == 401


async def test_an_admin_token_longer_than_bcrypts_72_bytes_starts_and_is_compared_whole(start_server):
    long_token = "t" * 100 + "-the-end"
    live = start_server(admin_token=long_token)
    assert await bearer_status(live, long_token) == 200
    # bcrypt would have compared only the first 72 bytes and let these in.
    assert await bearer_status(live, "t" * 100 + "-another") == 401
    assert await bearer_status(live, long_token[:72]) == 401


# ---- 7. logins were not throttled, and bcrypt ran on the event loop -----------------------------------

async def test_guessing_one_accounts_password_gets_429_with_retry_after(start_server):
    live = start_server(login_failures_per_account=3)
    username, password, _ = await add_user(live, "agent")
    for _ in range(3):
        assert await login_status(live, username, "wrong-" + uuid.uuid4().hex) == 401
    async with aiohttp.ClientSession() as http:
        # Now even the right password waits: the guesser cannot tell which attempt was right.
        async with http.post(f"{live.url}/api/login", json={"username": username, "password": password}) as r:
            assert r.status == 429
            body = await r.json()
            assert body["error"] == "too_many_attempts" and body["message"]
            assert 1 <= int(r.headers["Retry-After"]) <= 900
    # Other accounts are unaffected.
    other, other_password, _ = await add_user(live, "agent")
    assert await login_status(live, other, other_password) == 200


async def test_one_address_trying_many_accounts_gets_429(start_server):
    live = start_server(login_attempts_per_minute_per_address=4)
    async with from_address("127.0.0.2") as http:
        for _ in range(4):
            async with http.post(f"{live.url}/api/login", json={"username": sender(), "password": "guess"}) as r:
                assert r.status == 401
        async with http.post(f"{live.url}/api/login", json={"username": sender(), "password": "guess"}) as r:
            assert r.status == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    username, password, _ = await add_user(live, "agent")
    async with from_address("127.0.0.3") as http:
        async with http.post(f"{live.url}/api/login", json={"username": username, "password": password}) as r:
            assert r.status == 200


async def test_password_hashing_takes_one_thread_never_the_loop(server, monkeypatch):
    """bcrypt takes a quarter second of CPU: on the loop it stalls every customer and console, and
    on the default executor a login flood takes every core. Concurrent logins share one thread."""
    import agent_console.accounts as accounts

    threads: List[threading.Thread] = []
    real = accounts._check_password

    def spy(password: str, hashed: str) -> bool:
        threads.append(threading.current_thread())
        return real(password, hashed)

    users = [await add_user(server, "agent") for _ in range(4)]
    monkeypatch.setattr(accounts, "_check_password", spy)
    statuses = await asyncio.gather(*[login_status(server, username, "wrong password " + username)
                                      for username, _, _ in users])
    assert statuses == [401] * 4
    assert len(threads) == 4 and len(set(threads)) == 1 and threads[0] is not server._thread


# ---- 8. a customer's claims about themselves were shown, and used, as fact -----------------------------
# The web chat and anonymous REST cases are in test_console_api.py
# (test_claimed_identity_is_shown_as_claimed_and_looks_up_nothing,
# test_context_shows_crm_orders_for_a_signed_identity); here: the authenticated REST caller.

async def test_only_an_authenticated_rest_caller_is_believed(start_server):
    from agent_console.seed import seed_demo

    live = start_server(rest_token="shop-backend-" + uuid.uuid4().hex)
    await live.acall(seed_demo(live.services.store.catalogue, live.services.accounts))
    body = {"sender": sender(), "message": "I want to talk to a person",
            "metadata": {"customer_id": "C-1001", "customer_email": "ada@example.com"}}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{live.url}/webhooks/rest/webhook", json=body) as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorised"
        async with http.post(f"{live.url}/webhooks/rest/webhook", json=body,
                             headers={"Authorization": "Bearer not-the-token"}) as r:
            assert r.status == 401
        async with http.post(f"{live.url}/webhooks/rest/webhook", json=body,
                             headers={"Authorization": f"Bearer {live.settings.rest_token}"}) as r:
            assert r.status == 200
        status, listed = await api(http, live, f"/api/conversations?status=queued&external_id={body['sender']}")
        status, context = await api(http, live, f"/api/conversations/{listed['conversations'][0]['id']}/context")
    assert context["customer"]["verified"] is True and context["customer"]["shop_customer_id"] == "C-1001"
    assert {o["number"] for o in context["crm"]["orders"]} >= {"12345"}


async def test_the_widgets_identity_attributes_are_verified(browser, start_server):
    """The README's `data-customer-id` + `data-customer-hash` on Baton's own widget, in Chromium.

    The widget sent them as `id` and `hash`, keys the server never reads: the shop's signed
    customer was neither verified nor even claimed.
    """
    from playwright.async_api import expect

    from agent_console.seed import seed_demo
    from bot.identity import sign_customer_id

    live = start_server()
    await live.acall(seed_demo(live.services.store.catalogue, live.services.accounts))
    signature = sign_customer_id(live.settings.identity_secret, "C-1001")
    html = (f'<!doctype html><html><body><h1>Shop</h1><script src="{live.url}/widget.js" data-server="{live.url}" '
            f'data-customer-id="C-1001" data-customer-hash="{signature}" data-customer-name="Ada Lovelace" '
            'defer></script></body></html>')

    async def shop_page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    shop = web.Application()
    shop.router.add_get("/", shop_page)
    runner = web.AppRunner(shop)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        await page.get_by_test_id("baton-launcher").click()
        await page.get_by_test_id("baton-input").fill("I want to talk to a person")
        await page.get_by_test_id("baton-send").click()
        await expect(page.locator('[data-testid="baton-message"][data-sender="system"]').first).to_be_visible(
            timeout=20_000)
    finally:
        await context.close()
        await runner.cleanup()
    async with aiohttp.ClientSession() as http:
        status, body = await api(http, live, "/api/conversations?status=queued")
        assert status == 200 and len(body["conversations"]) == 1, body
        status, context_json = await api(http, live, f"/api/conversations/{body['conversations'][0]['id']}/context")
    customer = context_json["customer"]
    assert customer["shop_customer_id"] == "C-1001" and "customer_hash" not in customer["metadata"]
    assert customer["claims"].get("name") == "Ada Lovelace"   # the signature covers the id, not the name
    assert {o["number"] for o in context_json["crm"]["orders"]} >= {"12345"}


# ---- also: malformed input must get a 4xx, never a 5xx ----------------------------------------------------

DEEP = b"[" * 20_000 + b"]" * 20_000
HUGE_INT = b"9" * 5_000

REST_CASES = [
    ("deep_json", b'{"sender": "s", "message": "hi", "metadata": {"x": ' + DEEP + b"}}", "malformed_json"),
    ("deep_body", DEEP, "malformed_json"),
    ("huge_int", b'{"sender": "s", "message": "hi", "metadata": {"n": ' + HUGE_INT + b"}}", "malformed_json"),
    ("huge_int_sender", b'{"sender": ' + HUGE_INT + b', "message": "hi"}', "malformed_json"),
    ("surrogate_message", b'{"sender": "s", "message": "\\ud800"}', "bad_message"),
    ("surrogate_sender", b'{"sender": "\\udfff", "message": "hi"}', "bad_sender"),
    ("surrogate_metadata", b'{"sender": "s", "message": "hi", "metadata": {"page": "\\ud800"}}', "bad_metadata"),
    ("nul_message", b'{"sender": "s", "message": "a\\u0000b"}', "bad_message"),
    ("nul_sender", b'{"sender": "s\\u0000", "message": "hi"}', "bad_sender"),
    ("nul_metadata", b'{"sender": "s", "message": "hi", "metadata": {"p\\u0000": "x"}}', "bad_metadata"),
    ("nul_message_id", b'{"sender": "s", "message": "hi", "message_id": "\\u0000"}', "bad_message_id"),
    ("big_metadata_int", b'{"sender": "s", "message": "hi", "metadata": {"n": 99999999999999999999999}}',
     "bad_metadata"),
]


@pytest.mark.parametrize("name,body,code", REST_CASES, ids=[c[0] for c in REST_CASES])
async def test_malformed_rest_bodies_get_a_4xx(server, name, body, code):
    status, answer = await raw_post(server, "/webhooks/rest/webhook", body.replace(b'"s"', json.dumps(
        sender()).encode()))
    assert status == 400 and answer["error"] == code and answer["message"], answer
    async with aiohttp.ClientSession() as http:
        assert await rest(http, server, sender(), "hello")  # and the server keeps serving


async def test_malformed_console_bodies_and_ids_get_a_4xx(server):
    async with http_session() as http:
        _, conversation_id = await handed_off_via_rest(http, server)
    c = f"/api/conversations/{conversation_id}"
    cases = [
        ("POST", f"{c}/transfer", b'{"agent_id": "abc"}', 422),
        ("POST", f"{c}/transfer", b'{"agent_id": 18446744073709551616}', 422),
        ("POST", f"{c}/transfer", b'{"agent_id": ' + HUGE_INT + b"}", 400),
        ("POST", "/api/users", json.dumps({"username": sender(), "password": good_password(), "role": "agent",
                                           "capacity": [1]}).encode(), 422),
        ("POST", "/api/users", json.dumps({"username": sender(), "password": good_password(), "role": "agent",
                                           "capacity": "5"}).encode(), 422),
        ("POST", "/api/users", b'{"username": ["x"], "password": 1, "role": "agent"}', 422),
        ("POST", f"{c}/notes", b'{"text": "\\ud800"}', 422),
        ("POST", f"{c}/notes", b'{"text": "a\\u0000b"}', 422),
        ("POST", f"{c}/notes", DEEP, 400),
        ("POST", f"{c}/notes", b"[1, 2]", 400),
        ("POST", f"{c}/notes", b"\xff\xfe not utf-8", 400),
        ("POST", "/api/canned", b'{"shortcut": "x\\u0000", "text": "t"}', 422),
        ("POST", "/api/login", b'{"username": {"a": 1}, "password": "x"}', 422),
        ("GET", "/api/conversations/99999999999999999999", b"", 404),
        ("GET", "/api/conversations/2147483648", b"", 404),          # ids are 32-bit on PostgreSQL
        ("POST", "/api/conversations/9223372036854775807/claim", b"", 404),
        ("POST", f"{c}/transfer", b'{"agent_id": 9223372036854775807}', 422),
        ("GET", "/api/conversations/18446744073709551616/context", b"", 404),
        ("POST", "/api/conversations/9223372036854775808/claim", b"", 404),
        ("PUT", "/api/canned/99999999999999999999", b'{"shortcut": "x", "text": "t"}', 404),
        ("POST", "/api/messages/-1/label", b'{"intent": "greet"}', 404),
        ("GET", "/api/conversations/%C2%B2", b"", 404),             # "²" is a digit to str.isdigit()
        ("GET", "/api/conversations?limit=%C2%B2", b"", 400),
        ("GET", "/api/conversations?status=%00", b"", 400),
    ]
    headers = {"Authorization": f"Bearer {server.settings.admin_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for method, path, body, expected in cases:
            async with http.request(method, server.url + path, data=body or None, headers=headers) as r:
                answer = strict_json(await r.read())
                assert r.status == expected, (method, path, body[:80], r.status, answer)
                assert answer["error"] and answer["message"], answer


async def test_malformed_socketio_events_get_an_error_answer(server):
    token, _ = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    try:
        await agent.wait_for("queue")
        for event, data in [("open", {"conversation_id": 2 ** 64}), ("open", {"conversation_id": "abc"}),
                            ("open", {"conversation_id": 10 ** 200}), ("sync", {"after_id": 2 ** 70}),
                            ("open", {"conversation_id": 2 ** 63 - 1}), ("sync", {"after_id": 2 ** 31}),
                            ("claim", {"conversation_id": -1}), ("reply", {"conversation_id": 1, "text": "\ud800"}),
                            ("note", {"conversation_id": 1, "text": "x\x00"}), ("presence", {"status": None}),
                            ("label", {"message_id": 2 ** 63}), ("open", [1, 2]), ("open", "1"),
                            ("transfer", {"conversation_id": 1, "agent_id": "abc"}), ("no_such_event", {})]:
            answer = await agent.call(event, data, timeout=10)
            assert answer["ok"] is False and answer["error"] and answer["message"], (event, data, answer)
        assert (await agent.call("sync", {"after_id": 0}))["ok"]  # and the socket still works
    finally:
        await agent.close()


async def test_a_web_chat_message_with_a_lone_surrogate_is_answered_with_an_error(server):
    """It used to be dropped silently: the customer waited for an answer that never came."""
    customer = await WebChatClient(server).connect()
    try:
        await customer.start_session()
        for message in ("broken \ud800 text", "nul \x00 text"):
            answer = await customer.sio.call("user_uttered", {"message": message,
                                                              "session_id": customer.session_id}, timeout=10)
            assert answer["ok"] is False and answer["error"] and answer["message"]
            _, shown = await customer.next("error")
            assert shown["error"] == answer["error"]
        answer = await customer.sio.call("user_uttered", {"message": "hello", "session_id": customer.session_id},
                                         timeout=20)
        assert answer["ok"] is True
    finally:
        await customer.close()


# ---- also: a turn a crash cut short was never finished -------------------------------------------------

class DiesMidTurn:
    """The real engine, except that an armed parse stops the turn the way a killed process does.

    The customer's message is committed before the bot is asked, so cancelling the handler
    inside `parse` leaves exactly what a crash at that moment leaves: the message stored, its
    turn pending, no reply. (Killing a process that holds the shared test model is not an
    option; cancellation is the same interruption seen from the database.)
    """

    def __init__(self, real: Any) -> None:
        self._real = real
        self.armed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def parse(self, text: str):
        if self.armed:
            self.armed -= 1
            raise asyncio.CancelledError()
        return await self._real.parse(text)


async def crash_mid_turn(server: LiveServer, who: str, text: str, message_id: str) -> None:
    server.engine.armed = 1
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.post(f"{server.url}/webhooks/rest/webhook",
                                 json={"sender": who, "message": text, "message_id": message_id}) as r:
                await r.read()
    assert server.engine.armed == 0


async def customer_turn(server: LiveServer, who: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The sender's last customer message and the replies stored for it."""
    async with aiohttp.ClientSession() as http:
        status, body = await api(http, server, f"/api/conversations?status=bot,queued&external_id={who}")
        detail = await conversation_detail(http, server, body["conversations"][0]["id"])
    message = [m for m in detail["messages"] if m["sender"] == "customer"][-1]
    return message, [m for m in detail["messages"] if m["in_reply_to_id"] == message["id"]]


async def test_a_redelivered_message_whose_turn_a_crash_cut_short_is_finished(start_server, faulty_engine,
                                                                            fresh_database):
    live = start_server(fresh_database, engine=DiesMidTurn(faulty_engine))
    who = sender()
    await crash_mid_turn(live, who, "what are your opening hours?", "retry-me")
    message, replies = await customer_turn(live, who)
    assert message["nlu"] is None and replies == []   # stored, never answered
    async with aiohttp.ClientSession() as http:
        # The caller retries with the same id: it used to get [] for ever; now the turn is finished.
        answer = await rest(http, live, who, "what are your opening hours?", message_id="retry-me")
    assert answer and answer[0]["recipient_id"] == who
    message, replies = await customer_turn(live, who)
    assert message["nlu"] is not None and [r["text"] for r in replies] == [a["text"] for a in answer]
    async with aiohttp.ClientSession() as http:  # and from then on it is an ordinary duplicate
        assert await rest(http, live, who, "what are your opening hours?", message_id="retry-me") == answer


async def test_turns_a_crash_cut_short_are_finished_after_a_restart(start_server, faulty_engine, fresh_database):
    first = start_server(fresh_database, engine=DiesMidTurn(faulty_engine))
    who = sender()
    await crash_mid_turn(first, who, "what are your opening hours?", "never-retried")
    first.stop()
    # A new process on the same database; no other worker can still be on the turn (grace 0).
    second = start_server(fresh_database, turn_recovery_grace_seconds=0)
    for _ in range(100):
        message, replies = await customer_turn(second, who)
        if replies:
            break
        await asyncio.sleep(0.2)
    assert message["nlu"] is not None and replies and replies[0]["sender"] in ("bot", "system")


# ---- also: typing, health, logs, headers, origins, passwords ----------------------------------------------

async def test_a_customers_typing_flood_is_throttled(server):
    token, _ = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    customer = await WebChatClient(server).connect()
    try:
        await agent.wait_for("queue")
        await customer.start_session()
        await customer.say("hello")
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(server, customer.session_id)
        answers = [await customer.sio.call("typing", {"typing": i % 2 == 0}, timeout=10) for i in range(60)]
        assert all(a["ok"] for a in answers) and any(a.get("throttled") for a in answers)
        seen = []
        while True:
            try:
                seen.append(await agent.wait_for("typing", lambda d: d["conversation_id"] == conversation_id,
                                                 timeout=2))
            except asyncio.TimeoutError:
                break
        assert 1 <= len(seen) <= 10, seen   # 60 changes were sent
        # …and the console ends where the customer did: stopped, not "typing…" for ever.
        assert seen[-1]["who"] == "customer" and seen[-1]["typing"] is False
    finally:
        await customer.close()
        await agent.close()


async def test_healthz_is_liveness_and_readyz_is_readiness(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/healthz") as r:
            text = await r.text()
            assert r.status == 200 and strict_json(text) == {"status": "ok"}
        async with http.get(f"{server.url}/readyz") as r:
            ready = await r.text()
            assert r.status == 200 and strict_json(ready) == {"status": "ready", "model": "ready", "database": "ok"}
    model = str(server.settings.model_path)
    assert model not in text and model not in ready and server.settings.model_path.name not in text + ready


async def test_database_errors_do_not_carry_customer_text(server):
    """A failing statement's parameters (customer text) stay out of the error and so out of every log.

    Edges refuse what the database cannot hold, so the failure is provoked on the server's own
    engine: a message for a conversation that does not exist breaks a foreign key. What a
    handler would log is the exception's text and traceback.
    """
    import traceback

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from bot.store.tables import Message

    secret = f"my card number is 4111 1111 {uuid.uuid4().hex[:4]}"

    async def failing_insert() -> str:
        try:
            async with server.services.store.engine.begin() as connection:
                await connection.execute(insert(Message).values(
                    conversation_id=2_000_000_000, sender="customer", text=secret, channel="rest",
                    created_at=datetime.now(timezone.utc)))
        except IntegrityError as exc:
            return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError("the insert should have failed")

    logged = await server.acall(failing_insert())
    assert "parameters hidden" in logged and secret not in logged


async def test_console_files_carry_the_csp_and_may_not_be_framed(server):
    async with aiohttp.ClientSession() as http:
        for path in ("/console", "/console/static/index.html", "/console/static/console.js",
                     "/static/vendor/socket.io.min.js", "/console/static/no-such-file"):
            async with http.get(server.url + path) as r:
                assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", ""), path
                assert "script-src 'self'" in r.headers["Content-Security-Policy"], path
                assert r.headers.get("X-Frame-Options") == "DENY", path
                assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        # A file name longer than the file system allows is simply not there (it was a 500).
        for path in ("/console/static/" + "x" * 300, "/static/vendor/" + "x" * 300, "/console/static/..%2Fapi.py"):
            async with http.get(URL(server.url + path, encoded=True)) as r:
                assert r.status == 404, path


async def test_the_console_accepts_only_exact_origins(server):
    bearer = {"Authorization": f"Bearer {server.settings.admin_token}"}
    own = f"http://127.0.0.1:{server.port}"
    rebound = f"rebind.example:{server.port}"   # a DNS-rebinding page: Origin and Host agree
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/me", headers={**bearer, "Origin": own}) as r:
            assert r.status == 200
        for headers in ({"Origin": f"https://127.0.0.1:{server.port}"},        # another scheme
                        {"Origin": f"http://127.0.0.1:{server.port + 1}"},     # another port
                        {"Origin": f"http://{rebound}", "Host": rebound},
                        {"Origin": "null"}):
            async with http.get(f"{server.url}/api/me", headers={**bearer, **headers}) as r:
                assert r.status == 403 and (await r.json())["error"] == "origin_not_allowed", headers
    token, _ = await logged_in(server, "agent")
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url, namespaces=["/agents"], transports=["websocket"],
                             headers={"Cookie": f"baton_session={token}", "Origin": f"http://{rebound}",
                                      "Host": rebound})
    agent = AgentClient(server, token)
    await agent.sio.connect(server.url, namespaces=["/agents"], transports=["websocket"],
                            headers={"Cookie": f"baton_session={token}", "Origin": own})
    try:
        assert (await agent.wait_for("queue"))["me"]
    finally:
        await agent.close()


async def test_passwords_must_be_long_and_not_common(server):
    username = sender()
    async with aiohttp.ClientSession() as http:
        for password, why in [("Short-1", "at least 12"), ("password1234", "too common"),
                              ("abababababab", "pattern"), (f"xx{username}xx", "username")]:
            status, body = await api(http, server, "/api/users", "POST",
                                     json={"username": username, "password": password, "role": "agent"})
            assert status == 422 and why in body["message"], (password, body)
        status, body = await api(http, server, "/api/users", "POST",
                                 json={"username": username, "password": good_password(), "role": "agent"})
        assert status == 201
        user_id = body["user"]["id"]
        status, body = await api(http, server, f"/api/users/{user_id}/password", "POST",
                                 json={"password": "qwertyuiop12"})
        assert status == 422 and body["error"] == "bad_password"
        new = good_password()
        status, _ = await api(http, server, f"/api/users/{user_id}/password", "POST", json={"password": new})
        assert status == 200
    assert await login_status(server, username, new) == 200
