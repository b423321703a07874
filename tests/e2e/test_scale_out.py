"""Two Baton workers sharing PostgreSQL and Redis: what happens on one reaches people on the other.

A customer's socket lives on worker A, an agent's console on worker B; Socket.IO's
AsyncRedisManager must carry the queue events to B and the agent's reply back to A.
"""

from __future__ import annotations

import pytest

from tests.support import AgentClient, WebChatClient, logged_in, redis_worker_pair

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def workers(postgres_url, faulty_engine, model_path):
    with redis_worker_pair(postgres_url, model_path, faulty_engine, "scale-out") as pair:
        yield pair


async def test_a_handoff_on_one_worker_reaches_an_agent_on_the_other_and_back(workers):
    a, b = workers
    token, agent_id = await logged_in(b, "agent")
    agent = await AgentClient(b, token).connect()
    customer = await WebChatClient(a, baton_protocol=True).connect()
    try:
        await agent.wait_for("queue")
        await customer.start_session()
        await customer.say("I want to talk to a person")
        notice = (await customer.replies_until_quiet())[-1]
        assert notice["sender"] == "system" and "queue" in notice["text"], notice

        # Worker A handled the message; the console on B hears of it through Redis.
        handoff = await agent.wait_for("handoff")
        assert handoff["status"] == "queued" and handoff["handoff_reason"] == "human_requested"
        conversation_id = handoff["id"]

        claimed = await agent.call("claim", {"conversation_id": conversation_id})
        assert claimed["ok"] and claimed["conversation"]["assignee"]["id"] == agent_id
        _, joined = await customer.next("bot_uttered")
        assert joined["sender"] == "system" and "joined" in joined["text"], joined

        # B stores the reply; the customer's socket on A receives it.
        text = "Hello from the other worker"
        reply = await agent.call("reply", {"conversation_id": conversation_id, "text": text})
        assert reply["ok"]
        _, delivered = await customer.next("bot_uttered")
        assert delivered["sender"] == "agent" and delivered["text"] == text, delivered

        # And the customer's answer, received on A, shows live on B.
        await customer.say("thanks, that helps")
        seen = await agent.wait_for("message", lambda m: m.get("text") == "thanks, that helps")
        assert seen["conversation_id"] == conversation_id
    finally:
        await customer.close()
        await agent.close()


async def test_a_session_issued_by_one_worker_resumes_on_the_other(workers):
    a, b = workers
    first = await WebChatClient(a).connect()
    session_id = await first.start_session()
    await first.say("hi")
    greeting = await first.replies_until_quiet()
    assert greeting and greeting[0].get("text"), greeting
    await first.close()

    again = await WebChatClient(b, baton_protocol=True).connect()
    try:
        assert await again.start_session(session_id) == session_id
        _, history = await again.next("history")
        texts = [m.get("text") for m in history["messages"]]
        assert "hi" in texts and greeting[0]["text"] in texts, texts
    finally:
        await again.close()
