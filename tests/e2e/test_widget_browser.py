"""Web chat on the shop's own website: the one-line widget snippet in a real Chromium.

A live Baton (SQLite, the shared trained model) whose allow-list names only the shop's
origin; a tiny aiohttp "shop" on another port serving a page with the embed snippet; and
the same page on a third port, an origin Baton does not know. Agents act through the HTTP
API, as the console would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.support import (
    VIEWPORT, LiveServer, WebChatClient, api, conversation_detail, conversation_id_of, free_port, logged_in,
    make_settings, screenshot_path,
)

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.__pwned=1>"

SHOP_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Northwind Outfitters</title>
  <style>
    body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2937; background: #fbfaf7; }}
    header {{ display: flex; align-items: center; gap: 28px; padding: 18px 48px; background: #fff;
             border-bottom: 1px solid #e5e7eb; }}
    header b {{ font-size: 20px; }}
    header a {{ color: #1f2937; text-decoration: none; }}
    .hero {{ padding: 56px 48px 32px; }}
    .hero h1 {{ margin: 0 0 8px; font-size: 40px; }}
    .grid {{ display: grid; grid-template-columns: repeat(3, 240px); gap: 24px; padding: 0 48px; }}
    .card {{ background: #fff; border: 1px solid #e5e7eb; border-radius: 12px; padding: 16px; }}
    .swatch {{ height: 140px; border-radius: 8px; margin-bottom: 12px; }}
  </style>
</head>
<body>
  <header><b>Northwind Outfitters</b><a href="#">Women</a><a href="#">Men</a><a href="#">Sale</a></header>
  <section class="hero"><h1>Autumn layers</h1><p>Free shipping over $50 &middot; 30-day free returns</p></section>
  <section class="grid">
    <div class="card"><div class="swatch" style="background:#c7d2fe"></div>Merino crew &middot; $79</div>
    <div class="card"><div class="swatch" style="background:#fde68a"></div>Rain shell &middot; $149</div>
    <div class="card"><div class="swatch" style="background:#bbf7d0"></div>Trail socks &middot; $18</div>
  </section>
  {snippet}
</body>
</html>
"""


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop_ports() -> Dict[str, int]:
    return {"shop": free_port(), "evil": free_port()}


@pytest.fixture(scope="module")
def shop_origin(shop_ports) -> str:
    return f"http://127.0.0.1:{shop_ports['shop']}"


@pytest.fixture(scope="module")
def evil_origin(shop_ports) -> str:
    return f"http://127.0.0.1:{shop_ports['evil']}"


@pytest.fixture(scope="module")
def baton(tmp_path_factory, faulty_engine, model_path, shop_origin):
    """Baton on SQLite whose BATON_ALLOWED_ORIGINS is the shop and nothing else."""
    db = tmp_path_factory.mktemp("widget-browser") / "baton.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path, allowed_origins=[shop_origin]),
                      faulty_engine).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def shop(baton, shop_ports):
    """The shop's own web server: the same page on the shop's port and on an unknown one."""
    snippet = (f'<script src="{baton.url}/widget.js" data-server="{baton.url}" data-title="Shop support" '
               f'data-color="#4f46e5" data-greeting="Hi!" defer></script>')
    html = SHOP_PAGE.format(snippet=snippet)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/products/{name}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    for port in shop_ports.values():
        await web.TCPSite(runner, "127.0.0.1", port).start()
    assert html.count("<script") == 1 and snippet in html
    yield {name: f"http://127.0.0.1:{port}" for name, port in shop_ports.items()}
    await runner.cleanup()


@pytest.fixture
async def context(browser: Browser):
    """A fresh visitor: its own localStorage, a desktop window."""
    ctx = await browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(20_000)
    yield ctx
    await ctx.close()


# ---- helpers ----------------------------------------------------------------------------

def bubbles(page: Page, sender: str):
    return page.locator(f'[data-testid="baton-message"][data-sender="{sender}"]')


def storage_key(baton: LiveServer, name: str) -> str:
    """The widget namespaces its localStorage by server: `baton:<server>:<name>`."""
    return f"baton:{baton.url}:{name}"


async def open_shop(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    await page.goto(url)
    await expect(page.get_by_test_id("baton-launcher")).to_be_visible()
    return page


async def open_widget(page: Page) -> None:
    await page.get_by_test_id("baton-launcher").click()
    await expect(page.get_by_test_id("baton-panel")).to_be_visible()
    await expect(page.get_by_test_id("baton-title")).to_have_text("Shop support")


async def type_and_send(page: Page, text: str) -> None:
    await page.get_by_test_id("baton-input").fill(text)
    await page.get_by_test_id("baton-send").click()


async def session_id(page: Page) -> Optional[str]:
    return await page.evaluate("() => window.Baton.sessionId()")


async def wait_for_session(page: Page, other_than: Optional[str] = None) -> str:
    await page.wait_for_function("(old) => { const id = window.Baton.sessionId(); return id && id !== old; }",
                                 arg=other_than)
    return await session_id(page)


async def ask_for_a_person(page: Page) -> None:
    await type_and_send(page, "I want to talk to a person")
    notice = bubbles(page, "system").filter(has_text="queue")
    await expect(notice).to_have_count(1)


async def agent_takes_over_and_replies(baton: LiveServer, conversation_id: int, text: str,
                                       headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Claim and reply as the console would, through the HTTP API (admin token unless `headers`)."""
    async with aiohttp.ClientSession() as http:
        if headers is None:
            status, body = await api(http, baton, f"/api/conversations/{conversation_id}/claim", "POST")
            assert status == 200, body
            status, body = await api(http, baton, f"/api/conversations/{conversation_id}/reply", "POST",
                                     json={"text": text})
        else:
            base = f"{baton.url}/api/conversations/{conversation_id}"
            async with http.post(f"{base}/claim", headers=headers) as response:
                assert response.status == 200, await response.text()
            async with http.post(f"{base}/reply", headers=headers, json={"text": text}) as response:
                status, body = response.status, await response.json()
        assert status == 200, body
        return body["message"]


async def named_agent(baton: LiveServer, display_name: str) -> Dict[str, str]:
    """Log in a fresh agent with a display name; returns the cookie header to act as them."""
    token, _ = await logged_in(baton, "agent", display_name)
    return {"Cookie": f"baton_session={token}"}


async def browser_post(page: Page, url: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """A cross-origin fetch from the page: {status, body} or {error} when the browser blocks it."""
    return await page.evaluate(
        """async ([url, body]) => {
             try {
               const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify(body)});
               return {status: r.status, body: await r.text()};
             } catch (e) { return {error: String(e)}; }
           }""",
        [url, body])


# ---- tests ------------------------------------------------------------------------------

async def test_shop_visitor_chats_with_the_bot_then_an_agent(baton, shop, context):
    page = await open_shop(context, shop["shop"] + "/products/rain-shell")
    assert await session_id(page) is None, "a first-time visitor connects only when the chat is opened"
    await open_widget(page)
    await expect(page.get_by_test_id("baton-greeting")).to_have_text("Hi!")

    await type_and_send(page, "hello")
    await expect(bubbles(page, "customer")).to_have_text(["hello"])
    await expect(bubbles(page, "bot").first).to_be_visible()
    await expect(page.get_by_test_id("baton-quick-reply").first).to_be_visible()
    bot_text = await bubbles(page, "bot").first.inner_text()
    sid = await session_id(page)
    assert sid and baton.services.webchat.signer.verify(sid)
    conversation_id = await conversation_id_of(baton, sid)
    async with aiohttp.ClientSession() as http:
        stored = await conversation_detail(http, baton, conversation_id)
    assert stored["conversation"]["metadata"]["page_url"] == shop["shop"] + "/products/rain-shell"
    assert [m["text"] for m in stored["messages"] if m["sender"] == "bot"][0] == bot_text

    # Reload without the local transcript cache: what is shown must be the server's history.
    frames: List[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    await page.evaluate("(key) => localStorage.removeItem(key)", storage_key(baton, "transcript"))
    await page.reload()
    await expect(bubbles(page, "customer")).to_have_text(["hello"])
    await expect(bubbles(page, "bot").first).to_have_text(bot_text)
    assert any(frame.startswith('42["history"') for frame in frames), "the transcript did not come from history"
    assert await session_id(page) == sid

    await ask_for_a_person(page)
    async with aiohttp.ClientSession() as http:
        status, body = await api(http, baton, "/api/conversations?status=queued")
        assert status == 200
    assert conversation_id in [c["id"] for c in body["conversations"]]

    reply = "Hi, I'm Alex from the team. Let me check on that order for you."
    await agent_takes_over_and_replies(baton, conversation_id, reply, headers=await named_agent(baton, "Alex Agent"))
    await expect(bubbles(page, "agent")).to_have_text([reply])
    await page.get_by_test_id("baton-input").fill("Thanks!")
    shot = screenshot_path("widget.png")
    await page.screenshot(path=str(shot), animations="disabled", caret="hide")
    assert shot.stat().st_size > 10_000
    assert page.page_errors == []  # type: ignore[attr-defined]


async def test_an_origin_not_in_the_allow_list_cannot_chat(baton, shop, context):
    page = await open_shop(context, shop["evil"] + "/")
    frames: List[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    await open_widget(page)
    await type_and_send(page, "hello")
    # The socket is refused: the widget reports it is reconnecting and the message stays pending.
    await expect(page.get_by_test_id("baton-status")).to_have_attribute("data-state", "offline")
    await expect(bubbles(page, "customer")).to_have_attribute("data-pending", "true")
    await page.wait_for_timeout(3000)  # give a wrongly accepted connection time to answer, then check
    assert await session_id(page) is None
    await expect(bubbles(page, "bot")).to_have_count(0)
    assert not any("session_confirm" in frame for frame in frames)

    webhook = f"{baton.url}/webhooks/rest/webhook"
    sender = f"evil-{uuid.uuid4().hex[:8]}"
    refused = await browser_post(page, webhook, {"sender": sender, "message": "hello"})
    assert "error" in refused or refused["status"] == 403, refused
    assert await baton.acall(baton.services.conversations.latest_conversation_for("rest", sender)) is None

    # The same request from the shop is answered, so the refusal is about the origin.
    shop_page = await open_shop(context, shop["shop"] + "/")
    answered = await browser_post(shop_page, webhook, {"sender": f"shop-{uuid.uuid4().hex[:8]}",
                                                       "message": "hello"})
    assert answered.get("status") == 200, answered
    assert json.loads(answered["body"])[0]["text"]


async def test_a_forged_session_id_gets_a_fresh_session_and_no_foreign_history(baton, shop, context):
    alice = await WebChatClient(baton).connect()
    try:
        alice_id = await alice.start_session(None)
        await alice.say("where is my order 98765?")
        assert any("98765" in r.get("text", "") for r in await alice.replies_until_quiet())
    finally:
        await alice.close()
    body, signature = alice_id.rsplit(".", 1)
    forged = f"{body}.{('A' if signature[0] != 'A' else 'B')}{signature[1:]}"

    page = await open_shop(context, shop["shop"] + "/")
    await page.evaluate("([key, id]) => localStorage.setItem(key, id)", [storage_key(baton, "session_id"), forged])
    await page.reload()  # a returning visitor connects at load, with the id it has stored
    fresh = await wait_for_session(page, other_than=forged)
    assert fresh not in (forged, alice_id)
    assert await page.evaluate("(key) => localStorage.getItem(key)", storage_key(baton, "session_id")) == fresh

    await open_widget(page)
    await type_and_send(page, "hello")
    await expect(bubbles(page, "bot").first).to_be_visible()
    await expect(bubbles(page, "customer")).to_have_text(["hello"])
    assert "98765" not in await page.get_by_test_id("baton-panel").inner_text()

    async with aiohttp.ClientSession() as http:
        mine = await conversation_detail(http, baton, await conversation_id_of(baton, fresh))
        theirs = await conversation_detail(http, baton, await conversation_id_of(baton, alice_id))
    assert mine["conversation"]["id"] != theirs["conversation"]["id"]
    assert [m["text"] for m in mine["messages"] if m["sender"] == "customer"] == ["hello"]
    assert [m["text"] for m in theirs["messages"] if m["sender"] == "customer"] == ["where is my order 98765?"]


async def test_a_typed_intent_payload_triggers_that_intent(baton, shop, context):
    page = await open_shop(context, shop["shop"] + "/")
    await open_widget(page)
    payload = '/order_status{"order_id": "1234"}'
    await type_and_send(page, payload)
    await expect(bubbles(page, "customer")).to_have_text([payload])
    await expect(bubbles(page, "bot").filter(has_text="1234").first).to_be_visible()

    async with aiohttp.ClientSession() as http:
        stored = await conversation_detail(http, baton, await conversation_id_of(baton, await session_id(page)))
    customer = [m for m in stored["messages"] if m["sender"] == "customer"]
    assert [m["text"] for m in customer] == [payload]
    nlu = customer[0]["nlu"]
    assert nlu["intent"] == "order_status", nlu
    assert [(e["entity"], e["value"]) for e in nlu["entities"]] == [("order_id", "1234")], nlu
    assert stored["conversation"]["status"] == "bot"


async def test_markup_in_messages_is_shown_as_text(baton, shop, context):
    # An agent whose display name is markup, as an admin might type it by mistake.
    cookie = await named_agent(baton, XSS)

    page = await open_shop(context, shop["shop"] + "/")
    await open_widget(page)
    await type_and_send(page, XSS)
    await expect(bubbles(page, "customer")).to_have_text([XSS])
    await ask_for_a_person(page)
    conversation_id = await conversation_id_of(baton, await session_id(page))
    await agent_takes_over_and_replies(baton, conversation_id, f"Look: {XSS}", headers=cookie)
    await expect(bubbles(page, "agent")).to_have_text([f"Look: {XSS}"])
    await expect(bubbles(page, "agent")).to_have_attribute("data-agent-name", XSS)
    await expect(bubbles(page, "system").filter(has_text=f"{XSS} joined the conversation")).to_have_count(1)

    async def assert_inert() -> None:
        assert await page.evaluate("() => typeof window.__pwned") == "undefined"
        assert await page.locator(".baton-root img").count() == 0, "markup became an element"

    await assert_inert()
    # The same text coming back from the server's history is inert too.
    await page.evaluate("(key) => localStorage.removeItem(key)", storage_key(baton, "transcript"))
    await page.reload()
    await expect(bubbles(page, "agent")).to_have_text([f"Look: {XSS}"])
    await expect(bubbles(page, "customer").first).to_have_text(XSS)
    await assert_inert()
    assert page.page_errors == []  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def terse_baton(tmp_path_factory, faulty_engine, model_path):
    """Baton that accepts customer messages of at most 300 characters."""
    db = tmp_path_factory.mktemp("widget-limit") / "baton.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path, max_message_chars=300),
                      faulty_engine).start()
    yield live
    live.stop()


async def test_the_message_limit_comes_from_the_server(terse_baton, context):
    # Baton's own demo page embeds the widget from Baton itself.
    page = await context.new_page()
    await page.goto(terse_baton.url + "/")
    await page.get_by_test_id("baton-launcher").click()
    await wait_for_session(page)
    await expect(page.get_by_test_id("baton-counter")).to_have_text("0/300")
    await expect(page.get_by_test_id("baton-input")).to_have_attribute("maxlength", "300")

    # Typing stops at the limit; a longer scripted message is refused before it is sent.
    await page.get_by_test_id("baton-input").fill("x" * 400)
    await expect(page.get_by_test_id("baton-counter")).to_have_text("300/300")
    assert await page.evaluate("() => window.Baton.send('y'.repeat(301))") is False
    error = page.locator('[data-testid="baton-message"][data-kind="error"]')
    await expect(error).to_have_text("Messages can be at most 300 characters long.")
    await expect(bubbles(page, "customer")).to_have_count(0)
