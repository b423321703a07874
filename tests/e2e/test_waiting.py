"""The customer's wait over real protocols, on SQLite and PostgreSQL: honest handoffs, a place that
never silently gets worse, the widget's live status and its leave-a-message event.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Callable

from tests.support import (
    AgentClient, LiveServer, WebChatClient, api, conversation_detail, conversation_id_of, http_session,
    logged_in, rest,
)


async def next_event(client: WebChatClient, name: str, predicate: Callable[[Any], bool] = lambda d: True,
                     timeout: float = 20) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event, data = await asyncio.wait_for(client.events.get(), max(0.01, deadline - loop.time()))
        if event == name and predicate(data):
            return data


async def widget_customer(server: LiveServer) -> WebChatClient:
    client = await WebChatClient(server, baton_protocol=True, also=("queue_status",)).connect()
    await client.start_session()
    return client


async def test_a_place_made_worse_by_priority_is_always_told(server):
    """REST has no live status: the customer hears it as a stored notice, delivered like a reply."""
    async with http_session() as http:
        sender = f"rest-{uuid.uuid4().hex[:8]}"
        notice = (await rest(http, server, sender, "I want to talk to a person"))[-1]
        assert "in the queue" in notice["text"]
        status, found = await api(http, server, f"/api/conversations?channel=rest&external_id={sender}")
        [conversation] = found["conversations"]
        told = conversation["stated_position"]
        assert told >= 1 and f"number {told} in the queue" in notice["text"]
        # A complaint (always a person, higher priority) goes ahead of everyone waiting for a person.
        await rest(http, server, f"rest-{uuid.uuid4().hex[:8]}", "I want to file a complaint, this is unacceptable")
        for _ in range(100):
            await server.settled()
            stored = await conversation_detail(http, server, conversation["id"])
            moved = [m for m in stored["messages"] if (m["payload"] or {}).get("wait_notice") == "moved_back"]
            if moved:
                break
            await asyncio.sleep(0.1)
        assert moved and moved[0]["text"].endswith(f"you are now number {told + 1} in the queue."), stored["messages"]
        assert stored["conversation"]["stated_position"] == told + 1


async def test_the_widget_gets_a_live_status_and_can_leave_a_message(server):
    client = await widget_customer(server)
    try:
        # Before any wait, there is nothing to leave a message for.
        await client.sio.emit("leave_message", {"email": "ada@example.com", "message": "hi"})
        refused = await next_event(client, "error")
        assert refused["error"] == "not_waiting"

        await client.say("I want to talk to a person")
        status = await next_event(client, "queue_status")
        # Nobody is online on this server: it says so, offers the form, and gives no estimate.
        assert status["state"] == "waiting" and status["offer_message"] is True and status["estimate"] is None
        assert status["headline"] == "Nobody is available right now" and status["position"] >= 1
        conversation_id = await conversation_id_of(server, client.session_id)

        answer = await client.sio.call("leave_message", {"email": "not-an-address", "message": "x"})
        assert answer == {"ok": False, "error": "bad_email", "message": "Please enter a valid e-mail address."}
        answer = await client.sio.call("leave_message", {"email": "ada@example.com", "message": "nul \x00 inside"})
        assert answer["ok"] is False and answer["error"] == "bad_message"

        answer = await client.sio.call("leave_message", {"email": " ada@example.com ",
                                                         "message": "Call me about order 12345"})
        assert answer == {"ok": True}
        # The confirmation (a stored notice, delivered) and the new status (live) come in either order.
        confirmation = left = None
        while confirmation is None or left is None:
            event, data = await asyncio.wait_for(client.events.get(), 20)
            if event == "bot_uttered" and "ada@example.com" in data.get("text", ""):
                confirmation = data
            elif event == "queue_status" and data["left_message"]:
                left = data
        assert confirmation["sender"] == "system"
        assert left["offer_message"] is False and "ada@example.com" in left["detail"]
        async with http_session() as http:
            stored = await conversation_detail(http, server, conversation_id)
        assert stored["conversation"]["contact_email"] == "ada@example.com"
        assert stored["conversation"]["left_message_at"] is not None
        assert "Call me about order 12345" in [m["text"] for m in stored["messages"] if m["sender"] == "customer"]

        # Coming back to the chat shows the waiting state at once.
        returning = await WebChatClient(server, baton_protocol=True, also=("queue_status",)).connect()
        try:
            await returning.start_session(client.session_id)
            again = await next_event(returning, "queue_status")
            assert again["state"] == "waiting" and again["left_message"] is True
        finally:
            await returning.close()
    finally:
        await client.close()


async def test_with_an_agent_online_the_handoff_promises_no_more_than_it_knows(start_server):
    server = start_server()
    token, _ = await logged_in(server, "agent")
    agent = await AgentClient(server, token).connect()
    client = await widget_customer(server)
    try:
        await agent.wait_for("queue")
        await client.say("I want to talk to a person")
        notice = await next_event(client, "bot_uttered", lambda d: "queue" in d.get("text", ""))
        assert notice["text"] == ("I'm bringing in a person from our team who can help. "
                                  "You are number 1 in the queue.")   # no claims yet: no estimate
        status = await next_event(client, "queue_status")
        assert status["headline"] == "Waiting for a person" and status["offer_message"] is False
        assert status["agents_online"] == 1 and status["position"] == 1
        # The agent goes away: the customer is told nobody is available (the clock looks every 15 s
        # by default; a presence change is announced at the next queue change too).
        await agent.call("presence", {"status": "away"})
        await client.say("hello?")
        ack = await next_event(client, "queue_status", lambda d: d.get("acknowledged_message_id"))
        assert ack["offer_message"] is True and ack["headline"] == "Nobody is available right now"
    finally:
        await client.close()
        await agent.close()
