"""The agent console in a real Chromium: humans take over in real time, with full context.

A live Baton (SQLite, the shared trained model, the demo CRM seeded), a real customer
speaking the web chat's Socket.IO protocol, and the console at /console driven through
its own login form, buttons and composer. The API-level twins of these checks live in
test_console_api.py; here we check what an agent actually sees and does.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List, Optional, Tuple

import pytest
from playwright.async_api import Locator, Page, expect

from bot.identity import sign_customer_id
from bot import agent_actions
from tests.support import (
    LiveServer, WebChatClient, api, conversation_detail, conversation_id_of, free_port,
    http_session, make_settings, rest, screenshot_path,
)

pytestmark = pytest.mark.browser

UI = 15_000  # ms: how long the console may take to show something that travelled over the socket
# Ada as the demo shop's page would identify her: her shop id, signed with the identity secret.
ADA = {"customer_email": "ada@example.com", "customer_name": "Ada Lovelace", "customer_id": "C-1001",
       "customer_hash": sign_customer_id("test-identity-secret", "C-1001")}


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def baton(tmp_path_factory, faulty_engine, model_path):
    """Baton on its own SQLite file, with the demo CRM (Ada and her orders) seeded."""
    from agent_console.seed import seed_demo

    db = tmp_path_factory.mktemp("console-browser") / "console.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path), faulty_engine).start()
    await live.acall(seed_demo(live.services.store.catalogue, live.services.accounts))
    yield live
    live.stop()


@pytest.fixture
async def customers(baton):
    """Real web chat customers; every one is disconnected at the end of the test."""
    started: List[WebChatClient] = []

    async def new_customer(session_id: Optional[str] = None) -> WebChatClient:
        client = await WebChatClient(baton, baton_protocol=True).connect()
        started.append(client)
        await client.start_session(session_id)
        return client

    yield new_customer
    for client in started:
        if client.sio.connected:
            await client.close()


# ---- helpers ----------------------------------------------------------------------------

async def conversation_of(baton: LiveServer, customer: WebChatClient) -> int:
    conversation_id = await conversation_id_of(baton, customer.session_id)
    assert conversation_id is not None
    return conversation_id


async def detail(baton: LiveServer, conversation_id: int) -> Dict[str, Any]:
    async with http_session() as http:
        return await conversation_detail(http, baton, conversation_id)


async def ask_for_a_person(customer: WebChatClient) -> Dict[str, Any]:
    await customer.say("I want to talk to a person")
    notice = (await customer.replies_until_quiet())[-1]
    assert notice.get("sender") == "system" and "queue" in notice["text"], notice
    return notice


async def events_within(customer: WebChatClient, seconds: float) -> List[Tuple[str, Any]]:
    """Everything the customer's socket receives in the next `seconds`."""
    seen: List[Tuple[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return seen
        try:
            seen.append(await asyncio.wait_for(customer.events.get(), remaining))
        except asyncio.TimeoutError:
            return seen


def queue_item(page: Page, conversation_id: int) -> Locator:
    return page.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')


def messages(page: Page, sender: Optional[str] = None) -> Locator:
    selector = '#transcript [data-testid="message"]'
    if sender:
        selector += f'[data-sender="{sender}"]'
    return page.locator(selector)


def message_by_id(page: Page, message_id: int) -> Locator:
    return page.locator(f'#transcript [data-testid="message"][data-message-id="{message_id}"]')


async def send_from_composer(page: Page, text: str) -> None:
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("send").click()


# ---- tests ------------------------------------------------------------------------------

async def test_agent_takes_over_live_with_full_context(baton, consoles, customers):
    page = await consoles(baton, name="sam")  # shown as "Sam" to the customer and in the screenshot
    await page.evaluate("() => { window.__sameDocument = true; }")  # gone if the console reloads

    # A known customer talks to the bot, then asks for a person.
    customer = await customers()
    await customer.say("hi", customData=ADA)
    await customer.replies_until_quiet()
    await customer.say("where is my order 12345?", customData=ADA)
    order_replies = await customer.replies_until_quiet()
    await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)

    # It arrives in the queue live: no reload, no click.
    item = queue_item(page, conversation_id)
    await expect(item).to_be_visible(timeout=UI)
    await expect(item).to_have_attribute("data-status", "queued")
    assert await page.evaluate("() => window.__sameDocument") is True

    await item.click()
    await page.get_by_test_id("claim").click()
    await expect(page.get_by_test_id("claim")).to_be_hidden(timeout=UI)
    await expect(page.get_by_test_id("hand-back")).to_be_visible()
    await page.get_by_test_id("tab-mine").click()
    await expect(queue_item(page, conversation_id)).to_have_attribute("data-status", "assigned", timeout=UI)
    _, joined = await customer.next("bot_uttered")
    assert joined.get("sender") == "system" and "joined" in joined["text"], joined

    # The bot's reading of each customer message, as stored, is on the transcript.
    stored = await detail(baton, conversation_id)
    by_text = {m["text"]: m for m in stored["messages"] if m["sender"] == "customer"}
    order_message = by_text["where is my order 12345?"]
    nlu = order_message["nlu"]
    assert nlu["intent"] == "order_status", nlu
    shown = message_by_id(page, order_message["id"])
    await expect(shown).to_have_attribute("data-sender", "customer", timeout=UI)
    await expect(shown.get_by_test_id("intent-chip")).to_have_text(nlu["intent"])
    await expect(shown.get_by_test_id("confidence-chip")).to_have_text(f"{round(nlu['confidence'] * 100)}%")
    await expect(shown.get_by_test_id("entity-chip")).to_have_text(["order_id=12345"])
    trigger = by_text["I want to talk to a person"]
    assert stored["conversation"]["handoff_message_id"] == trigger["id"]
    await expect(page.locator('#transcript [data-testid="handoff-trigger"]')).to_have_count(1)
    await expect(message_by_id(page, trigger["id"]).get_by_test_id("handoff-trigger")).to_be_visible()
    await expect(message_by_id(page, trigger["id"]).get_by_test_id("intent-chip")).to_have_text(
        trigger["nlu"]["intent"])
    # The bot's own answer about the order is in the transcript too.
    await expect(messages(page, "bot").filter(has_text=order_replies[0]["text"])).to_have_count(1)

    # The customer panel: who this is and what they bought.
    panel = page.get_by_test_id("customer-panel")
    # Her shop id is signed (verified: her orders show); the e-mail is what she typed (marked unverified).
    await expect(panel.get_by_test_id("identity-verified")).to_be_visible(timeout=UI)
    await expect(panel.get_by_test_id("customer-email")).to_have_text("ada@example.com (unverified)", timeout=UI)
    orders = panel.get_by_test_id("crm-order")
    await expect(orders.filter(has_text="12345")).to_have_count(1)
    await expect(orders.filter(has_text="12001")).to_have_count(1)
    await expect(panel.get_by_test_id("crm-ticket")).to_contain_text(["Jacket zipper stuck"])

    # A reply reaches the customer as it was typed, and shows as sent.
    reply = "Hi Ada, I'm Sam. I'm looking at order 12345 now."
    await send_from_composer(page, reply)
    _, delivered = await customer.next("bot_uttered")
    assert delivered.get("sender") == "agent" and delivered["text"] == reply, delivered
    sent = messages(page, "agent").filter(has_text=reply)
    await expect(sent).to_have_count(1, timeout=UI)
    await expect(page.get_by_test_id("message-pending")).to_have_count(0)
    assert int(await sent.get_attribute("data-message-id")) > trigger["id"]

    # A note stays inside the team.
    note = "Shipped 3 days ago; the carrier reports a one-day delay."
    await page.get_by_test_id("note-toggle").click()
    await expect(page.get_by_test_id("note-toggle")).to_have_attribute("aria-pressed", "true")
    await send_from_composer(page, note)
    await expect(messages(page, "note").filter(has_text=note)).to_have_count(1, timeout=UI)
    await expect(page.get_by_test_id("message-pending")).to_have_count(0)
    await page.get_by_test_id("note-toggle").click()
    await expect(page.get_by_test_id("note-toggle")).to_have_attribute("aria-pressed", "false")
    # "/note " in the composer is a note too, whatever the toggle says.
    second_note = "If it is not there by Friday, offer a refund of the shipping."
    await send_from_composer(page, f"/note {second_note}")
    await expect(messages(page, "note").filter(has_text=second_note)).to_have_count(1, timeout=UI)
    received = await events_within(customer, 2.0)
    assert [name for name, _ in received if name == "bot_uttered"] == [], received
    assert note not in repr(received) and second_note not in repr(received)
    assert not [data for name, data in received if name == "typing" and data.get("who") == "agent"
                and data.get("typing")], "writing a note showed the customer 'agent is typing'"
    # Nor does a note come back in the history a returning customer is sent.
    returning = await customers(customer.session_id)
    _, history = await returning.next("history")
    assert reply in repr(history) and note not in repr(history) and second_note not in repr(history)
    await returning.close()

    # Mid-conversation, with the transcript and the customer panel: the screenshot for the docs.
    await expect(page.get_by_test_id("message-pending")).to_have_count(0)
    await expect(page.get_by_test_id("toast")).to_have_count(0, timeout=10_000)  # the handoff toast fades
    await page.get_by_test_id("composer").fill("Good news: it's out for delivery and should arrive tomorrow.")
    shot = screenshot_path("console.png")
    await page.screenshot(path=str(shot), animations="disabled", caret="hide")
    assert shot.stat().st_size > 20_000
    await page.get_by_test_id("composer").fill("")

    # Hand back: the customer is told, and the bot answers again; the console shows it.
    await page.get_by_test_id("hand-back").click()
    _, resumed = await customer.next("bot_uttered")
    assert resumed.get("sender") == "system" and "assistant" in resumed["text"], resumed
    await expect(page.get_by_test_id("hand-back")).to_be_hidden(timeout=UI)
    await expect(queue_item(page, conversation_id)).to_have_count(0)  # no longer "mine"
    await page.get_by_test_id("tab-all").click()
    await expect(queue_item(page, conversation_id)).to_have_attribute("data-status", "bot")
    await customer.say("what are your opening hours?")
    answers = await customer.replies_until_quiet()
    assert answers and all(a.get("sender") is None for a in answers), answers
    await expect(messages(page, "customer").filter(has_text="what are your opening hours?")).to_have_count(
        1, timeout=UI)
    await expect(messages(page, "bot").filter(has_text=answers[0]["text"]).last).to_be_visible(timeout=UI)
    last = messages(page).last
    await expect(last).to_have_attribute("data-sender", "bot")

    stored = await detail(baton, conversation_id)
    assert stored["conversation"]["status"] == "bot"
    shown_ids = [int(i) for i in await messages(page).evaluate_all(
        "nodes => nodes.map(n => n.dataset.messageId)")]
    assert shown_ids == [m["id"] for m in stored["messages"]], "the console shows exactly the stored transcript"
    assert page.page_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_customer_markup_is_shown_as_text(baton, consoles, customers):
    img = '<img src=x onerror="window.__pwned=1">'
    script = "<script>window.__pwned=2</script>"
    name = '<img src=x onerror="window.__pwned=3">'
    colleague = '<img src=x onerror="window.__pwned=4">'
    await baton.acall(baton.services.accounts.create_user("markup-colleague", "pw-for-the-colleague-7",
                                                          "agent", colleague, 5))
    page = await consoles(baton)
    customer = await customers()
    await customer.say(img, customData={"customer_name": name})
    await customer.replies_until_quiet()
    await customer.say(script)
    replies = await customer.replies_until_quiet()
    if replies[-1].get("sender") != "system":  # two misses in a row usually hand off by themselves
        await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)

    item = queue_item(page, conversation_id)
    await expect(item).to_contain_text(name, timeout=UI)
    await item.click()
    texts = messages(page, "customer").locator(".msg-text")
    await expect(texts.filter(has_text="<img src=x")).to_have_count(1, timeout=UI)
    await expect(texts.nth(0)).to_have_text(img)
    await expect(texts.nth(1)).to_have_text(script)
    await expect(messages(page, "customer").locator(".msg-author").first).to_have_text(name)
    await expect(page.get_by_test_id("conv-customer")).to_have_text(name)
    await expect(page.get_by_test_id("customer-panel").get_by_test_id("customer-name")).to_have_text(name)
    await expect(page.get_by_test_id("agent-list").get_by_test_id("agent").filter(has_text=colleague)).to_have_count(1)
    await expect(page.locator("#transfer option").filter(has_text=colleague)).to_have_count(1)
    await page.wait_for_timeout(300)  # an injected onerror would have fired by now
    assert await page.evaluate("() => window.__pwned") is None
    assert await page.locator('#transcript [data-testid="message"] img[src="x"]').count() == 0
    assert await page.locator('img[src="x"], #transcript script').count() == 0
    assert page.page_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_a_message_in_another_conversation_raises_its_unread_badge(baton, consoles, customers):
    page = await consoles(baton)
    first, second = await customers(), await customers()
    await ask_for_a_person(first)
    await ask_for_a_person(second)
    first_id, second_id = await conversation_of(baton, first), await conversation_of(baton, second)

    await queue_item(page, first_id).click()
    await expect(queue_item(page, first_id)).to_have_attribute("aria-current", "true", timeout=UI)
    await expect(queue_item(page, second_id)).to_be_visible(timeout=UI)
    await expect(queue_item(page, second_id).get_by_test_id("unread")).to_have_count(0)

    await second.say("hello? anyone there?")
    await expect(queue_item(page, second_id).get_by_test_id("unread")).to_have_text("1", timeout=UI)
    await second.say("I'm still waiting")
    await expect(queue_item(page, second_id).get_by_test_id("unread")).to_have_text("2", timeout=UI)
    await expect(queue_item(page, first_id).get_by_test_id("unread")).to_have_count(0)
    await expect(page).to_have_title(re.compile(r"^\(2\) "))

    await queue_item(page, second_id).click()
    await expect(messages(page, "customer").filter(has_text="I'm still waiting")).to_have_count(1, timeout=UI)
    await expect(queue_item(page, second_id).get_by_test_id("unread")).to_have_count(0)
    assert page.page_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_after_a_lost_connection_missed_messages_appear_exactly_once(baton, consoles, customers):
    page = await consoles(baton)
    customer = await customers()
    await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)
    await queue_item(page, conversation_id).click()
    await page.get_by_test_id("claim").click()
    await expect(page.get_by_test_id("hand-back")).to_be_visible(timeout=UI)

    await page.context.set_offline(True)
    await expect(page.get_by_test_id("connection-status")).to_have_text("reconnecting…", timeout=UI)
    missed = [f"sent while the agent was offline {i}" for i in range(3)]
    for text in missed:
        await customer.say(text)
    # A reply typed meanwhile is not lost: it is refused visibly and stays in the composer.
    apology = "Sorry, I was disconnected for a moment."
    await send_from_composer(page, apology)
    await expect(page.get_by_test_id("composer-error")).to_contain_text("Not sent", timeout=UI)
    await expect(page.get_by_test_id("composer")).to_have_value(apology)
    await expect(page.get_by_test_id("message-pending")).to_have_count(0)
    await page.context.set_offline(False)
    await expect(page.get_by_test_id("connection-status")).to_have_text("connected", timeout=30_000)

    for text in missed:
        await expect(messages(page, "customer").filter(has_text=text)).to_have_count(1, timeout=UI)
    shown = await messages(page).evaluate_all("nodes => nodes.map(n => Number(n.dataset.messageId))")
    assert len(shown) == len(set(shown)) and shown == sorted(shown), shown
    stored = await detail(baton, conversation_id)
    assert shown == [m["id"] for m in stored["messages"]]

    # The socket works again: the kept reply goes out, once.
    await page.get_by_test_id("send").click()
    await expect(messages(page, "agent").filter(has_text=apology)).to_have_count(1, timeout=UI)
    delivered = [data for name, data in await events_within(customer, 2.0)
                 if name == "bot_uttered" and data.get("sender") == "agent"]
    assert [d["text"] for d in delivered] == [apology], delivered
    assert page.page_errors == []  # type: ignore[attr-defined]


async def test_a_trainer_reviews_but_cannot_take_over(baton, consoles, customers):
    customer = await customers()
    await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)
    trigger = next(m for m in (await detail(baton, conversation_id))["messages"] if m["sender"] == "customer")

    page = await consoles(baton, "trainer")
    for tab in ("nav-review", "nav-intents", "nav-models", "nav-settings"):
        await expect(page.get_by_test_id(tab)).to_be_visible()
    await expect(page.get_by_test_id("nav-admin")).to_be_hidden()
    await expect(page.locator("#view-review")).to_be_visible()
    item = page.locator(f'[data-testid="review-item"][data-message-id="{trigger["id"]}"]')
    await expect(item.get_by_test_id("review-text")).to_have_text("I want to talk to a person", timeout=UI)
    await expect(item.get_by_test_id("top-intent").first).to_have_attribute("data-intent", "request_human")
    await expect(item.get_by_test_id("review-open-conversation")).to_have_text(f"Open conversation #{conversation_id}")

    # The trainer labels it (the bot was right) and it leaves the inbox.
    await item.get_by_test_id("review-confirm").click()
    await expect(item).to_have_count(0)
    await expect(page.get_by_test_id("review-notice")).to_contain_text("confirmed as request_human")

    # The conversation is there to read, not to take over.
    await page.get_by_test_id("nav-inbox").click()
    await expect(queue_item(page, conversation_id).get_by_test_id("conversation-number")).to_have_text(f"#{conversation_id}")
    await queue_item(page, conversation_id).click()
    await expect(messages(page, "customer").filter(has_text="I want to talk to a person")).to_have_count(1, timeout=UI)
    await expect(page.get_by_test_id("conv-number")).to_have_text(f"#{conversation_id}")
    await expect(page.get_by_test_id("claim")).to_be_hidden()
    await expect(page.get_by_test_id("hand-back")).to_be_hidden()
    await expect(page.get_by_test_id("resolve")).to_be_hidden()
    await expect(page.get_by_test_id("composer")).to_be_hidden()
    await expect(page.get_by_test_id("crm-order")).to_have_count(0)
    assert page.page_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_a_colleague_sees_the_claim_live_and_cannot_reply(baton, consoles, customers):
    customer = await customers()
    await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)
    first, second = await consoles(baton), await consoles(baton)
    for page in (first, second):
        await queue_item(page, conversation_id).click()
        await expect(page.get_by_test_id("claim")).to_be_visible(timeout=UI)

    await first.get_by_test_id("claim").click()
    await expect(first.get_by_test_id("hand-back")).to_be_visible(timeout=UI)
    # The colleague's screen follows without a reload: no claim button, no reply, notes still possible.
    await expect(second.get_by_test_id("claim")).to_be_hidden(timeout=UI)
    await expect(second.get_by_test_id("conv-assignee")).to_contain_text("Assigned to")
    await expect(second.get_by_test_id("composer-hint")).to_contain_text("Only the assigned agent can reply")
    await expect(queue_item(second, conversation_id)).to_have_count(0)  # gone from the Queued tab
    await send_from_composer(second, "trying to answer someone else's customer")
    await expect(second.get_by_test_id("composer-error")).to_contain_text("Not sent", timeout=UI)
    await expect(second.get_by_test_id("composer")).to_have_value("trying to answer someone else's customer")
    for page in (first, second):
        assert page.page_errors == []  # type: ignore[attr-defined]


async def test_labels_colours_and_the_reply_limit_come_from_the_server(baton, consoles, customers, monkeypatch):
    limit = 40
    # The server runs in this process, so it enforces the lowered limit as well as announcing it.
    monkeypatch.setattr(agent_actions, "MAX_AGENT_TEXT", limit)
    page = await consoles(baton)
    config = await page.evaluate("() => fetch('/api/config').then((r) => r.json())")
    assert config["max_agent_message_chars"] == limit

    # The console is ES modules from its own origin, under its strict script policy.
    async with http_session() as http:
        async with http.get(f"{baton.url}/console") as response:
            assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    scripts = await page.evaluate(
        "() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)")
    assert {"/console/static/main.js", "/console/static/composer.js", "/console/static/config.js"} <= set(scripts)

    customer = await customers()
    await ask_for_a_person(customer)
    conversation_id = await conversation_of(baton, customer)
    item = queue_item(page, conversation_id)
    await expect(item.get_by_test_id("handoff-reason")).to_have_text(
        config["handoff_reasons"]["human_requested"], timeout=UI)
    await item.click()
    await page.get_by_test_id("claim").click()
    await expect(page.get_by_test_id("hand-back")).to_be_visible(timeout=UI)

    # The confidence chip's colour band is the server's.
    stored = await detail(baton, conversation_id)
    asked = next(m for m in stored["messages"] if m["sender"] == "customer")
    confidence = asked["nlu"]["confidence"]
    level = ("low" if confidence < config["confidence_threshold"]
             else "medium" if confidence < config["confidence_amber_below"] else "high")
    await expect(message_by_id(page, asked["id"]).get_by_test_id("confidence-chip")).to_have_attribute(
        "data-level", level, timeout=UI)

    # One character over the limit: refused in the page and kept in the composer.
    too_long = "x" * (limit + 1)
    await send_from_composer(page, too_long)
    await expect(page.get_by_test_id("composer-error")).to_have_text(
        f"Too long: {limit + 1} characters, the limit is {limit}.")
    await expect(page.get_by_test_id("composer")).to_have_value(too_long)
    await expect(page.get_by_test_id("message-pending")).to_have_count(0)
    async with http_session() as http:  # the server would have refused it too
        status, body = await api(http, baton, f"/api/conversations/{conversation_id}/reply", "POST",
                                 json={"text": too_long})
    assert status == 413 and body["error"] == "too_long", body

    # Counted as the server counts: one emoji is one character (two UTF-16 units in the page).
    at_limit = "\N{SLIGHTLY SMILING FACE}" * limit
    await send_from_composer(page, at_limit)
    await expect(messages(page, "agent").filter(has_text=at_limit)).to_have_count(1, timeout=UI)
    await expect(page.get_by_test_id("composer-error")).to_be_hidden()
    delivered = [data for name, data in await events_within(customer, 2.0)
                 if name == "bot_uttered" and data.get("sender") == "agent"]
    assert [d["text"] for d in delivered] == [at_limit], delivered
    assert page.page_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_a_claimed_identity_is_marked_and_a_failed_delivery_can_be_retried(consoles, tmp_path, faulty_engine,
                                                                                 model_path):
    """A REST customer who only *says* they are Ada, and a shop backend whose callback refuses at first."""
    from aiohttp import web

    received: List[Dict[str, Any]] = []
    accepting = {"now": False}

    async def callback(request: web.Request) -> web.Response:
        if not accepting["now"]:
            return web.json_response({"error": "maintenance"}, status=400)
        received.append(await request.json())
        return web.json_response({"ok": True})

    shop = web.Application()
    shop.router.add_post("/baton-callback", callback)
    runner = web.AppRunner(shop)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{tmp_path}/claims.db", model_path,
                                    rest_callback_url=f"http://127.0.0.1:{port}/baton-callback"),
                      faulty_engine).start()
    try:
        async with http_session() as http:
            await rest(http, live, "shop-user-9", "I want to talk to a person",
                       metadata={"customer_email": "ada@example.com", "customer_name": "Ada L."})
        page = await consoles(live)
        conversation_id = await live.acall(live.services.conversations.latest_conversation_for("rest", "shop-user-9"))
        await queue_item(page, conversation_id).click()
        panel = page.get_by_test_id("customer-panel")
        await expect(panel.get_by_test_id("identity-unverified")).to_be_visible(timeout=UI)
        await expect(panel.get_by_test_id("customer-claims")).to_contain_text("ada@example.com")
        await expect(panel.get_by_test_id("crm-skipped")).to_contain_text("not verified")
        await expect(panel.get_by_test_id("crm-order")).to_have_count(0)

        await page.get_by_test_id("claim").click()
        await send_from_composer(page, "Hi, I'm looking into it.")
        reply = messages(page, "agent").filter(has_text="Hi, I'm looking into it.")
        failed = reply.get_by_test_id("delivery")
        await expect(failed).to_have_attribute("data-status", "failed", timeout=UI)
        await expect(failed).to_contain_text("refused the message (HTTP 400)")
        accepting["now"] = True
        await failed.get_by_test_id("retry-delivery").click()
        await expect(reply.get_by_test_id("delivery")).to_have_attribute("data-status", "sent", timeout=UI)
        texts = [r.get("text") for r in received]
        assert texts.count("Hi, I'm looking into it.") == 1, received
        assert page.page_errors == []  # type: ignore[attr-defined]
        await page.context.close()   # its socket would hold the server's shutdown open
    finally:
        # The callback server runs on this loop: stop Baton without blocking it.
        await asyncio.get_running_loop().run_in_executor(None, live.stop)
        await runner.cleanup()
