"""The agent console's server side: roles, the live queue, atomic claims, replay, hand-back."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import socketio

from tests.support import (
    AgentClient, WebChatClient, add_user, api, conversation_id_of, http_session, logged_in, login, rest,
)


def sender() -> str:
    return f"console-{uuid.uuid4().hex[:10]}"


async def handed_off_conversation(http, server) -> tuple:
    who = sender()
    await rest(http, server, who, "I want to talk to a person")
    status, body = await api(http, server, f"/api/conversations?status=queued&external_id={who}")
    assert status == 200 and len(body["conversations"]) == 1, body
    return who, body["conversations"][0]["id"]


async def test_every_api_route_needs_a_login(server):
    routes = [("GET", "/api/me"), ("GET", "/api/conversations"), ("GET", "/api/conversations/1"),
              ("GET", "/api/conversations/1/context"), ("POST", "/api/conversations/1/claim"),
              ("POST", "/api/conversations/1/reply"), ("POST", "/api/conversations/1/notes"),
              ("POST", "/api/conversations/1/hand_back"), ("POST", "/api/conversations/1/resolve"),
              ("POST", "/api/conversations/1/transfer"), ("POST", "/api/messages/1/label"),
              ("GET", "/api/review"), ("GET", "/api/canned"), ("POST", "/api/canned"),
              ("GET", "/api/users"), ("POST", "/api/users"), ("GET", "/api/agents"), ("GET", "/api/intents")]
    async with http_session() as http:
        for method, path in routes:
            async with http.request(method, server.url + path, json={}) as response:
                assert response.status == 401, (method, path, response.status)
                assert (await response.json())["error"] == "unauthenticated"


async def test_wrong_password_is_refused(server):
    username, _, _ = await add_user(server, "agent")
    async with http_session() as http:
        async with http.post(f"{server.url}/api/login", json={"username": username, "password": "nope"}) as r:
            assert r.status == 401
        async with http.post(f"{server.url}/api/login", json={"username": "ghost", "password": "nope"}) as r:
            assert r.status == 401


async def test_roles_are_enforced_on_http(server):
    async with http_session() as admin_http:
        _, conversation_id = await handed_off_conversation(admin_http, server)
    cases = {
        "trainer": {("POST", f"/api/conversations/{conversation_id}/claim"): 403,
                    ("POST", f"/api/conversations/{conversation_id}/reply"): 403,
                    ("GET", f"/api/conversations/{conversation_id}/context"): 403,
                    ("GET", "/api/users"): 403, ("POST", "/api/canned"): 403,
                    ("GET", "/api/review"): 200, ("GET", f"/api/conversations/{conversation_id}"): 200},
        "agent": {("GET", "/api/users"): 403, ("POST", "/api/users"): 403, ("GET", "/api/review"): 403,
                  ("POST", "/api/canned"): 403, ("GET", "/api/canned"): 200,
                  ("GET", f"/api/conversations/{conversation_id}/context"): 200},
        "admin": {("GET", "/api/users"): 200, ("GET", "/api/review"): 200},
    }
    for role, expectations in cases.items():
        username, password, _ = await add_user(server, role)
        async with http_session() as http:
            await login(http, server, username, password)
            for (method, path), expected in expectations.items():
                async with http.request(method, server.url + path, json={}) as response:
                    assert response.status == expected, (role, method, path, response.status)


async def test_roles_are_enforced_on_socketio(server):
    async with http_session() as http:
        _, conversation_id = await handed_off_conversation(http, server)
        username, password, _ = await add_user(server, "trainer")
        token = await login(http, server, username, password)
    trainer = await AgentClient(server, token).connect()
    try:
        for event, data in [("claim", {"conversation_id": conversation_id}),
                            ("reply", {"conversation_id": conversation_id, "text": "hi"}),
                            ("hand_back", {"conversation_id": conversation_id}),
                            ("resolve", {"conversation_id": conversation_id}),
                            ("note", {"conversation_id": conversation_id, "text": "x"})]:
            answer = await trainer.call(event, data)
            assert answer["ok"] is False and answer["error"] == "forbidden", (event, answer)
            assert answer["message"].startswith("a trainer may not"), answer
        opened = await trainer.call("open", {"conversation_id": conversation_id})
        assert opened["ok"] and opened["context"] is None  # trainers read transcripts, not CRM data
    finally:
        await trainer.close()
    stranger = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(server.url, namespaces=["/agents"], transports=["websocket"],
                               headers={"Cookie": "baton_session=forged"})


async def test_the_workbench_events_reach_trainers_only(server):
    """A new review item is live on a trainer's socket; an agent's socket never carries it."""
    agent_token, _ = await logged_in(server, "agent")
    trainer_token, _ = await logged_in(server, "trainer")
    agent = await AgentClient(server, agent_token).connect()
    trainer = await AgentClient(server, trainer_token).connect()
    try:
        who = sender()
        async with http_session() as http:
            await rest(http, server, who, "I want to talk to a person")
        item = await trainer.wait_for("review_item", lambda d: d.get("text") == "I want to talk to a person"
                                      and d.get("reason") == "human_requested")
        handoff = await agent.wait_for("handoff", lambda d: d["id"] == item["conversation_id"])
        assert handoff["handoff_reason"] == "human_requested"
        await asyncio.sleep(0.5)   # the same emit reached the trainer already; give the agent's every chance
        seen = []
        while not agent.events.empty():
            seen.append(agent.events.get_nowait()[0])
        assert not {"review_item", "reviewed", "model", "settings"} & set(seen), seen
    finally:
        await agent.close()
        await trainer.close()


async def test_the_api_refuses_other_origins(server):
    username, password, _ = await add_user(server, "agent")
    async with http_session() as http:
        await login(http, server, username, password)
        async with http.get(f"{server.url}/api/conversations", headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
    async with http_session() as http:
        token = await login(http, server, username, password)
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url, namespaces=["/agents"], transports=["websocket"],
                             headers={"Cookie": f"baton_session={token}", "Origin": "http://evil.example"})


async def test_exactly_one_of_two_simultaneous_claims_wins(server):
    accounts = [await add_user(server, "agent") for _ in range(2)]
    sessions = [http_session() for _ in accounts]
    try:
        for http, (username, password, _) in zip(sessions, accounts):
            await login(http, server, username, password)
        for _ in range(5):
            _, conversation_id = await handed_off_conversation(sessions[0], server)

            async def claim(http):
                async with http.post(f"{server.url}/api/conversations/{conversation_id}/claim") as r:
                    return r.status, await r.json()

            results = await asyncio.gather(*[claim(http) for http in sessions])
            statuses = sorted(status for status, _ in results)
            assert statuses == [200, 409], results
            loser = [body for status, body in results if status == 409][0]
            assert loser["error"] == "already_claimed"
            winner_id = [body for status, body in results if status == 200][0]["conversation"]["assignee"]["id"]
            status, detail = await api(sessions[0], server, f"/api/conversations/{conversation_id}")
            assert detail["conversation"]["assignee"]["id"] == winner_id
            assert detail["conversation"]["status"] == "assigned"
    finally:
        for http in sessions:
            await http.close()


async def test_live_queue_takeover_note_and_hand_back(server):
    token, agent_id = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    customer = await WebChatClient(server, baton_protocol=True).connect()
    try:
        _, queue = await agent.events.get()
        assert "conversations" in queue
        await customer.start_session()
        await customer.say("I want to talk to a person")
        notice = (await customer.replies_until_quiet())[-1]
        assert notice["sender"] == "system" and "queue" in notice["text"]
        handoff = await agent.wait_for("handoff")
        conversation_id = handoff["id"]
        assert handoff["handoff_reason"] == "human_requested" and handoff["status"] == "queued"

        claimed = await agent.call("claim", {"conversation_id": conversation_id})
        assert claimed["ok"] and claimed["conversation"]["assignee"]["id"] == agent_id
        joined = await customer.next("bot_uttered")
        assert "joined" in joined[1]["text"]

        reply = await agent.call("reply", {"conversation_id": conversation_id, "text": "Hi, I'm Sam. How can I help?"})
        assert reply["ok"] and reply["message"]["sender"] == "agent"
        _, delivered = await customer.next("bot_uttered")
        assert delivered["text"] == "Hi, I'm Sam. How can I help?" and delivered["sender"] == "agent"

        note = await agent.call("note", {"conversation_id": conversation_id, "text": "VIP customer, be nice"})
        assert note["ok"] and note["message"]["sender"] == "note"
        # While a person owns it, the bot is silent; the note never reaches the customer.
        await customer.say("my order 12345 is late")
        seen = await agent.wait_for("message", lambda m: m["text"] == "my order 12345 is late")
        assert seen["nlu"]["intent"] in ("order_status", "track_shipment", "delivery_time", "complaint")
        with pytest.raises(asyncio.TimeoutError):
            await customer.next("bot_uttered", timeout=2)

        back = await agent.call("hand_back", {"conversation_id": conversation_id})
        assert back["ok"] and back["conversation"]["status"] == "bot"
        _, resumed = await customer.next("bot_uttered")
        assert resumed["sender"] == "system" and "assistant" in resumed["text"]
        await customer.say("what are your opening hours?")
        answer = await customer.replies_until_quiet()
        assert answer and all(r.get("sender") is None for r in answer)  # the bot answers again
        opened = await agent.call("open", {"conversation_id": conversation_id})
        senders = [m["sender"] for m in opened["messages"]]
        assert senders.count("note") == 1 and senders[-1] == "bot"
    finally:
        await customer.close()
        await agent.close()


async def test_resolved_conversation_reopens_with_the_bot(server):
    async with http_session() as http:
        who, conversation_id = await handed_off_conversation(http, server)
        status, body = await api(http, server, f"/api/conversations/{conversation_id}/resolve", "POST")
        assert status == 200 and body["conversation"]["status"] == "resolved"
        replies = await rest(http, server, who, "hello again")
        assert replies and "queue" not in replies[0]["text"]
        status, detail = await api(http, server, f"/api/conversations/{conversation_id}")
        assert detail["conversation"]["status"] == "bot"


async def test_reconnect_replays_missed_messages_in_order(server):
    username, password, _ = await add_user(server, "agent")
    async with http_session() as http:
        token = await login(http, server, username, password)
        agent = await AgentClient(server, token).connect()
        who, conversation_id = await handed_off_conversation(http, server)
        last = await agent.wait_for("message", lambda m: m["conversation_id"] == conversation_id
                                    and m["sender"] == "system")
        cursor = last["id"]
        await agent.close()
        missed = [f"missed message {i}" for i in range(5)]
        for text in missed:
            await rest(http, server, who, text)
        agent = await AgentClient(server, token).connect(cookie=False)  # token auth works too
        try:
            answer = await agent.call("sync", {"after_id": cursor})
            assert answer["ok"]
            mine = [m for m in answer["messages"] if m["conversation_id"] == conversation_id]
            assert [m["text"] for m in mine] == missed
            ids = [m["id"] for m in answer["messages"]]
            assert ids == sorted(set(ids))
            assert conversation_id in [c["id"] for c in answer["conversations"]]
        finally:
            await agent.close()


async def test_labels_reach_the_review_inbox(server):
    username, password, _ = await add_user(server, "agent")
    trainer_name, trainer_password, _ = await add_user(server, "trainer")
    async with http_session() as http:
        _, conversation_id = await handed_off_conversation(http, server)
        status, detail = await api(http, server, f"/api/conversations/{conversation_id}")
        message_id = detail["messages"][0]["id"]
    async with http_session() as http:
        await login(http, server, username, password)
        async with http.post(f"{server.url}/api/messages/{message_id}/label", json={"intent": "nonsense"}) as r:
            assert r.status == 422
        async with http.post(f"{server.url}/api/messages/{message_id}/label", json={"intent": "complaint"}) as r:
            assert r.status == 200 and (await r.json())["message"]["label"]["intent"] == "complaint"
    async with http_session() as http:
        await login(http, server, trainer_name, trainer_password)
        async with http.get(f"{server.url}/api/review") as r:
            items = (await r.json())["items"]
        item = [i for i in items if i["message_id"] == message_id][0]
        assert item["label"]["intent"] == "complaint" and item["predicted"] == "request_human"
        assert item["reason"] == "human_requested" and item["conversation_id"] == conversation_id


async def _context_of_webchat_handoff(server, custom_data):
    customer = await WebChatClient(server).connect()
    try:
        await customer.start_session()
        await customer.say("I want to talk to a person", customData=custom_data)
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(server, customer.session_id)
    finally:
        await customer.close()
    async with http_session() as http:
        status, ctx = await api(http, server, f"/api/conversations/{conversation_id}/context")
    assert status == 200, ctx
    return ctx


async def test_claimed_identity_is_shown_as_claimed_and_looks_up_nothing(server):
    from agent_console.seed import seed_demo

    await server.acall(seed_demo(server.services.store.catalogue, server.services.accounts))
    async with http_session() as http:
        who = sender()
        await rest(http, server, who, "I want to talk to a person",
                   metadata={"customer_email": "ada@example.com", "customer_name": "Ada L.", "customer_id": "C-1001"})
        status, body = await api(http, server, f"/api/conversations?status=queued&external_id={who}")
        listed = body["conversations"][0]["customer"]
        status, ctx = await api(http, server, f"/api/conversations/{body['conversations'][0]['id']}/context")
    # An anonymous caller typed Ada's e-mail and shop id: agents see that it is only a claim…
    assert listed["email_verified"] is False
    assert ctx["customer"]["verified"] is False and ctx["customer"]["email_verified"] is False
    assert ctx["customer"]["shop_customer_id"] is None
    assert ctx["customer"]["claims"] == {"email": "ada@example.com", "name": "Ada L.", "shop_customer_id": "C-1001"}
    # …and none of Ada's orders or tickets.
    assert ctx["crm"]["orders"] == [] and ctx["crm"]["tickets"] == [] and "not verified" in ctx["crm"]["skipped"]
    # A forged signature is a claim too.
    forged = await _context_of_webchat_handoff(server, {"customer_id": "C-1001", "customer_hash": "0" * 64})
    assert forged["customer"]["verified"] is False and forged["crm"]["orders"] == []


async def test_context_shows_crm_orders_for_a_signed_identity(server):
    from agent_console.seed import seed_demo
    from bot.identity import sign_customer_id

    await server.acall(seed_demo(server.services.store.catalogue, server.services.accounts))
    signature = sign_customer_id(server.settings.identity_secret, "C-1001")
    ctx = await _context_of_webchat_handoff(server, {"customer_id": "C-1001", "customer_hash": signature,
                                                     "customer_name": "Ada Lovelace"})
    assert ctx["customer"]["verified"] is True and ctx["customer"]["shop_customer_id"] == "C-1001"
    assert {o["number"] for o in ctx["crm"]["orders"]} >= {"12345", "12001"}
    assert ctx["crm"]["tickets"][0]["subject"] == "Jacket zipper stuck"
    # The signature itself is not kept on the conversation for agents to copy.
    assert "customer_hash" not in ctx["customer"]["metadata"]


async def test_typing_indicators_travel_both_ways(server):
    token, _ = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    customer = await WebChatClient(server).connect()
    try:
        await customer.start_session()
        await customer.say("I want to talk to a person")
        await customer.replies_until_quiet()
        handoff = await agent.wait_for("handoff")
        conversation_id = handoff["id"]
        assert (await agent.call("claim", {"conversation_id": conversation_id}))["ok"]
        await customer.sio.emit("typing", {"session_id": customer.session_id, "typing": True})
        seen = await agent.wait_for("typing", lambda d: d["conversation_id"] == conversation_id)
        assert seen["who"] == "customer" and seen["typing"] is True
        assert (await agent.call("typing", {"conversation_id": conversation_id, "typing": True}))["ok"]
        _, shown = await customer.next("typing")
        while shown.get("who") != "agent":
            _, shown = await customer.next("typing")
        assert shown == {"who": "agent", "typing": True}
    finally:
        await customer.close()
        await agent.close()


async def test_transfer_moves_the_conversation_to_another_agent(server):
    first = await add_user(server, "agent")
    second = await add_user(server, "agent")
    async with http_session() as http:
        _, conversation_id = await handed_off_conversation(http, server)
        await login(http, server, first[0], first[1])
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/claim") as r:
            assert r.status == 200
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/transfer",
                             json={"agent_id": second[2]}) as r:
            body = await r.json()
            assert r.status == 200 and body["conversation"]["assignee"]["id"] == second[2]
        # The first agent no longer owns it, so may not reply.
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/reply", json={"text": "hi"}) as r:
            assert r.status == 403 and (await r.json())["error"] == "not_assignee"


async def test_replies_need_text_and_an_open_conversation(server):
    username, password, _ = await add_user(server, "agent")
    async with http_session() as http:
        who, conversation_id = await handed_off_conversation(http, server)
        await login(http, server, username, password)
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/reply", json={"text": "  "}) as r:
            assert r.status == 422
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/resolve") as r:
            assert r.status == 200
        async with http.post(f"{server.url}/api/conversations/{conversation_id}/reply", json={"text": "late"}) as r:
            assert r.status == 409 and (await r.json())["error"] == "not_taken_over"
        async with http.post(f"{server.url}/api/conversations/999999/claim") as r:
            assert r.status == 404


async def test_the_admin_user_list_shows_who_is_online(server):
    username, password, agent_id = await add_user(server, "agent")
    async with http_session() as http:
        token = await login(http, server, username, password)

        async def presence_of_agent() -> str:
            status, body = await api(http, server, "/api/users")
            assert status == 200, body
            return next(u["presence"] for u in body["users"] if u["id"] == agent_id)

        assert await presence_of_agent() == "offline"
        agent = await AgentClient(server, token).connect()
        try:
            await agent.wait_for("queue")
            assert await presence_of_agent() == "online"
        finally:
            await agent.close()
        for _ in range(50):  # the server notices the disconnect a moment later
            if await presence_of_agent() == "offline":
                break
            await asyncio.sleep(0.1)
        assert await presence_of_agent() == "offline"
