"""Dialogue that keeps track, answered from the shop's data: real model, real server, real CRMs.

The order form asks for what it needs and reads the next message as the answer; the custom
actions (rasa-sdk, run in-process) answer from the demo CRM, or from an HTTP CRM
(BATON_CRM_URL) served here by a real aiohttp server that answers, fails or hangs.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List

import aiohttp
import pytest
from aiohttp import web

from bot.actions.orders import NO_MATCH
from bot.identity import sign_customer_id
from tests.support import WebChatClient, api, free_port, rest

ASK_NUMBER = "What's your order number?"
ASK_EMAIL = "what's the e-mail address you placed order 12345 with?"


def sender() -> str:
    return f"dialogue-{uuid.uuid4().hex[:10]}"


async def seeded(server) -> None:
    from agent_console.seed import seed_demo

    await server.acall(seed_demo(server.services.store.catalogue, server.services.accounts))


def texts(replies: List[Dict[str, Any]]) -> str:
    return " | ".join(r.get("text", "") for r in replies)


async def conversation(http, server, who: str) -> Dict[str, Any]:
    status, body = await api(http, server, f"/api/conversations?status=bot,queued,assigned,resolved"
                                           f"&channel=rest&external_id={who}")
    assert status == 200 and len(body["conversations"]) == 1, body
    status, detail = await api(http, server, f"/api/conversations/{body['conversations'][0]['id']}")
    assert status == 200, detail
    return detail


def signed(server, customer_id: str) -> Dict[str, Any]:
    return {"metadata": {"customer_id": customer_id,
                         "customer_hash": sign_customer_id(server.settings.identity_secret, customer_id)}}


async def test_the_answer_to_the_bots_question_is_read_as_the_answer(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        who = sender()
        assert ASK_NUMBER in texts(await rest(http, server, who, "where is my order?"))
        # A bare number: no intent to be sure of, but it answers the question the bot just asked.
        assert ASK_EMAIL in texts(await rest(http, server, who, "12345"))
        answer = texts(await rest(http, server, who, "it's ada@example.com"))
        assert answer.startswith("Order 12345 (Rain jacket) shipped on ") and "DHL" in answer, answer
        assert "Tracking number JD0146000038123" in answer and "Expected delivery tomorrow" in answer
        detail = await conversation(http, server, who)
    assert detail["conversation"]["status"] == "bot"
    record = await server.acall(server.services.conversations.get(detail["conversation"]["id"]))
    assert record.consecutive_misses == 0   # no message of the three was a miss
    bare = next(m for m in detail["messages"] if m["text"] == "12345")
    assert bare["nlu"]["entities"][0]["value"] == "12345"
    [item] = await server.acall(server.services.store.review.items([bare["id"]]))
    assert not item.reason   # nothing for trainers: it was an answer, not an intent to learn


async def test_another_question_in_between_and_a_customer_without_the_number(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        who = sender()
        await rest(http, server, who, "where is my order?")
        aside = texts(await rest(http, server, who, "how do I reset my password?"))
        assert "Forgot password?" in aside and ASK_NUMBER in aside   # answered, then back to the question
        assert ASK_EMAIL in texts(await rest(http, server, who, "12345"))
        other = sender()
        await rest(http, server, other, "where is my order?")
        stopped = texts(await rest(http, server, other, "I don't have it"))
        assert "Without the order number I can't look the order up here" in stopped
        assert "Sorry" not in texts(await rest(http, server, other, "thanks"))   # the form let go


async def test_tracking_over_web_chat_with_the_number_in_a_sentence(server):
    await seeded(server)
    customer = await WebChatClient(server).connect()
    try:
        await customer.start_session()
        await customer.say("track my package")
        assert ASK_NUMBER in (await customer.replies_until_quiet())[0]["text"]
        await customer.say("the number is #12345")
        assert ASK_EMAIL in (await customer.replies_until_quiet())[0]["text"]
        await customer.say("ADA@example.com")
        answer = (await customer.replies_until_quiet())[0]
        assert set(answer) == {"text"}   # rasa-webchat shows a text reply only when it is the only key
        assert answer["text"].startswith("Order 12345 (Rain jacket) is on its way with DHL.")
        assert "https://tracking.example/dhl/JD0146000038123" in answer["text"]
    finally:
        await customer.close()


async def test_a_wrong_e_mail_gets_no_details_and_no_hint_whether_the_order_exists(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        answers = []
        for number in ("12345", "99999"):   # Ada's order, and one that does not exist
            who = sender()
            await rest(http, server, who, f"where is my order {number}?")
            replies = await rest(http, server, who, "eve@example.com")
            answers.append(texts(replies))
            assert NO_MATCH in texts(replies) and ASK_NUMBER in texts(replies)   # asked again
            for secret in ("Rain jacket", "shipped", "DHL", "JD01", "Ada", "delivered"):
                assert secret not in texts(replies)
        assert answers[0] == answers[1]
        # The right pair, on the next try, is answered.
        assert "e-mail address you placed order 12345" in texts(await rest(http, server, who, "12345"))
        assert "Rain jacket" in texts(await rest(http, server, who, "ada@example.com"))


async def test_three_wrong_pairs_and_the_bot_stops_checking(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        who = sender()
        await rest(http, server, who, "where is my order 12345?")
        for guess in ("eve@example.com", "mallory@example.com"):
            await rest(http, server, who, guess)
            await rest(http, server, who, "12345")
        last = texts(await rest(http, server, who, "trent@example.com"))
        assert "can't check any more orders" in last and "Rain jacket" not in last


async def test_a_verified_customer_is_answered_directly_from_their_own_orders(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        who = sender()
        ada = signed(server, "C-1001")
        latest = texts(await rest(http, server, who, "where is my order?", **ada))
        assert latest.startswith("Your most recent order: Order 12345 (Rain jacket) shipped"), latest
        when = texts(await rest(http, server, who, "when will order 12345 arrive?", **ada))
        assert when.startswith("Order 12345 (Rain jacket) is on its way and should arrive tomorrow"), when
        returns = texts(await rest(http, server, who, "can I still return order 12001?", **ada))
        assert "Wool socks ×3" in returns and "37 days ago" in returns and "can't be returned" in returns
        # Someone else's order is not hers to see, even signed in.
        other = texts(await rest(http, server, who, "where is order 23456?", **ada))
        assert other == "I can't find order 23456 on your account. Could you check the number?"


async def test_returns_answered_by_the_policy_or_by_the_orders_date(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        late = texts(await rest(http, server, sender(), "can I return boots I bought 40 days ago?"))
        assert "Our return window is 30 days from delivery" in late and "40 days ago" in late, late
        who = sender()
        await rest(http, server, who, "can I still return my beanie, order 23100?")
        beanie = texts(await rest(http, server, who, "grace@example.com"))
        assert beanie.startswith("Yes: Order 23100 (Merino beanie) was delivered yesterday"), beanie


async def test_a_parcel_marked_delivered_that_is_not_there(server):
    await seeded(server)
    async with aiohttp.ClientSession() as http:
        who = sender()
        first = texts(await rest(http, server, who, "my parcel says delivered but it is not here"))
        assert ASK_NUMBER in first   # understood (not "could you rephrase?"): the bot looks the parcel up
        await rest(http, server, who, "23100")
        answer = texts(await rest(http, server, who, "grace@example.com"))
        assert "was delivered yesterday" in answer and "check with your neighbours" in answer
        assert "investigation with UPS" in answer


async def test_two_requests_in_one_message_go_to_a_person(server):
    async with aiohttp.ClientSession() as http:
        who = sender()
        replies = await rest(http, server, who, "where is my order and how do I reset my password")
        assert "queue" in texts(replies) and ASK_NUMBER not in texts(replies)   # not half-answered
        detail = await conversation(http, server, who)
    assert detail["conversation"]["status"] == "queued"
    assert detail["conversation"]["handoff_reason"] == "multiple_requests"
    assert "order_status" in detail["conversation"]["handoff_detail"]
    assert "reset_password" in detail["conversation"]["handoff_detail"]


# ---- BATON_CRM_URL: a real HTTP CRM that answers, fails or hangs -----------------------------------

class Crm:
    """The shop's CRM over HTTP (the contract in docs/api.md), on a real port."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.asked: List[Dict[str, str]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/crm"
        self._runner: Any = None

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append(dict(request.query))
        if self.mode == "down":
            return web.json_response({"error": "maintenance"}, status=503)
        if self.mode == "hang":
            await asyncio.sleep(30)
        orders = []
        if request.query.get("email") == "lin@example.com" or request.query.get("shop_customer_id") == "S-77":
            orders = [{"number": "A77120", "status": "shipped", "items": [{"name": "Trail shoes", "qty": 1}],
                       "carrier": "GLS", "tracking_number": "GLS-5521", "placed_at": "2026-11-20T10:00:00Z"}]
        return web.json_response({"orders": orders, "tickets": []})

    async def __aenter__(self) -> "Crm":
        app = web.Application()
        app.router.add_get("/crm", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()


@pytest.fixture
async def crm():
    async with Crm() as running:
        yield running


async def test_orders_come_from_the_shops_crm_when_it_is_configured(start_server, crm):
    live = start_server(crm_url=crm.url, crm_timeout_seconds=1.0)
    async with aiohttp.ClientSession() as http:
        who = sender()
        await rest(http, live, who, "where is my order A77120?")
        answer = texts(await rest(http, live, who, "lin@example.com"))
        assert answer.startswith("Order A77120 (Trail shoes) shipped with GLS.") and "GLS-5521" in answer
        lin = sender()
        verified = texts(await rest(http, live, lin, "where is my order?", **signed(live, "S-77")))
        assert verified.startswith("Your most recent order: Order A77120")
        # The agents' customer panel reads the same CRM.
        lin_id = (await conversation(http, live, lin))["conversation"]["id"]
        status, context = await api(http, live, f"/api/conversations/{lin_id}/context")
        assert status == 200 and [o["number"] for o in context["crm"]["orders"]] == ["A77120"], context
    # Looked up by the e-mail the customer gave, or the shop id the shop signed; never by the number.
    assert {"email": "lin@example.com"} in crm.asked and {"shop_customer_id": "S-77"} in crm.asked
    assert not any("A77120" in str(query) for query in crm.asked)


@pytest.mark.parametrize("mode", ["down", "hang"])
async def test_a_crm_that_is_down_or_slow_hands_off_as_bot_error_never_a_made_up_answer(start_server, crm, mode):
    live = start_server(crm_url=crm.url, crm_timeout_seconds=1.0)
    crm.mode = mode
    async with aiohttp.ClientSession() as http:
        who = sender()
        assert ASK_EMAIL.replace("12345", "A77120") in texts(await rest(http, live, who, "where is my order A77120?"))
        replies = await rest(http, live, who, "lin@example.com")
        assert len(replies) == 1 and "queue" in replies[0]["text"], replies   # the handoff notice, nothing else
        assert NO_MATCH not in texts(replies)   # not "no such order" either: the CRM did not say so
        detail = await conversation(http, live, who)
        assert detail["conversation"]["status"] == "queued"
        assert detail["conversation"]["handoff_reason"] == "bot_error"
        assert "CrmUnavailable" in detail["conversation"]["handoff_detail"]
        # A signed-in customer is no different: no CRM, no answer.
        ada = sender()
        replies = await rest(http, live, ada, "track my parcel", **signed(live, "S-77"))
        assert len(replies) == 1 and "queue" in replies[0]["text"], replies
        handed = await conversation(http, live, ada)
        assert handed["conversation"]["handoff_reason"] == "bot_error"
        # The agent who takes it over sees that the CRM failed, not an empty order list.
        status, context = await api(http, live, f"/api/conversations/{handed['conversation']['id']}/context")
        assert status == 200 and context["crm"]["orders"] == [] and "CRM" in context["crm"]["error"], context
