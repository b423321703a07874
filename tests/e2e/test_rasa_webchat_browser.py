"""A Rasa website switches to Baton: the real rasa-webchat widget, unchanged, in a real Chromium.

rasa-webchat 1.0.1 (the npm widget most Rasa sites embed, fetched by `.ci/ensure-rasa-webchat`)
is served by a tiny aiohttp "shop" on its own port and initialised the way its README shows,
against a live Baton (SQLite, the shared trained model) whose allow-list names the shop. The
widget renders a text message only when `text` is its only key and buttons only when the message
has exactly two keys, so these checks fail as soon as Baton adds one key to Rasa's shapes.
Agents act through the HTTP API, as the console would.
"""

from __future__ import annotations

import asyncio
import json
import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from bot.settings import PROJECT_ROOT
from tests.support import VIEWPORT, LiveServer, api, conversation_detail, conversation_id_of, free_port, make_settings

pytestmark = pytest.mark.browser

RASA_WEBCHAT_VERSION = "1.0.1"
# The package's UMD browser bundle (its webpack build of umd.js, React included).
BUNDLE = PROJECT_ROOT / ".cache" / f"rasa-webchat-{RASA_WEBCHAT_VERSION}" / "lib" / "index.js"
XSS = "<img src=x onerror=window.__pwned=1>"
# rasa-webchat holds each bot message back 0.8-3 s (its `customMessageDelay`) before showing it.
SHOWN_WITHIN_MS = 20_000

SHOP_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Northwind Outfitters</title></head>
<body>
  <h1>Autumn layers</h1>
  <p>Free shipping over $50</p>
  <script src="/vendor/rasa-webchat.js"></script>
  <script>
    window.WebChat.default({{
      socketUrl: {socket_url},
      socketPath: "/socket.io/",
      initPayload: "/greet",
      customData: {{language: "en"}},
      title: "Shop support",
      params: {{storage: "session"}}
    }}, null);
  </script>
</body>
</html>
"""


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundle() -> bytes:
    """The widget's code; the test fails (never skips) when it was not fetched."""
    assert BUNDLE.is_file(), (
        f"rasa-webchat {RASA_WEBCHAT_VERSION} is missing at {BUNDLE}: run `.ci/ensure-rasa-webchat` "
        "(or `make test`, which runs it) to fetch it from the npm registry")
    return BUNDLE.read_bytes()


@pytest.fixture(scope="module")
def shop_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def baton(tmp_path_factory, faulty_engine, model_path, shop_port):
    """Baton on SQLite whose BATON_ALLOWED_ORIGINS is the shop."""
    db = tmp_path_factory.mktemp("rasa-webchat-browser") / "baton.db"
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{db}", model_path,
                                    allowed_origins=[f"http://127.0.0.1:{shop_port}"]), faulty_engine).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def shop(baton, shop_port, bundle):
    """The shop's web server: its page and its copy of the widget, as a Rasa site hosts them."""
    html = SHOP_PAGE.format(socket_url=json.dumps(baton.url))

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def widget(request: web.Request) -> web.Response:
        return web.Response(body=bundle, content_type="application/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/vendor/rasa-webchat.js", widget)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", shop_port).start()
    yield f"http://127.0.0.1:{shop_port}"
    await runner.cleanup()


@pytest.fixture
async def context(browser: Browser):
    ctx = await browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(20_000)
    yield ctx
    await ctx.close()


# ---- helpers ----------------------------------------------------------------------------

async def shown(lines: Locator) -> None:
    """Exactly one such line is on screen (a wrongly shaped message never shows up)."""
    await expect(lines).to_have_count(1, timeout=SHOWN_WITHIN_MS)


def bot_lines(page: Page):
    return page.locator(".rw-response")


def customer_lines(page: Page):
    return page.locator(".rw-client")


async def open_chat(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    await page.goto(url)
    await page.locator(".rw-launcher").click()
    await expect(page.locator(".rw-conversation-container")).to_be_visible()
    return page


async def type_and_send(page: Page, text: str) -> None:
    await page.locator(".rw-new-message").fill(text)
    await page.locator(".rw-send").click()


async def widget_session_id(page: Page) -> str:
    """The id rasa-webchat keeps (params.storage "session": sessionStorage, key `chat_session`)."""
    stored = await page.evaluate("() => sessionStorage.getItem('chat_session')")
    assert stored, "rasa-webchat stored no session"
    return json.loads(stored)["session_id"]


async def stored_answer_to(baton: LiveServer, conversation_id: int, question: str) -> str:
    """The text of the bot's first stored reply to the customer message `question`."""
    deadline = asyncio.get_running_loop().time() + SHOWN_WITHIN_MS / 1000
    async with aiohttp.ClientSession() as http:
        while True:
            messages = (await conversation_detail(http, baton, conversation_id))["messages"]
            asked = [m["id"] for m in messages if m["sender"] == "customer" and m["text"] == question]
            answers = [m["text"] for m in messages if asked and m["in_reply_to_id"] == asked[-1]
                       and m["sender"] == "bot"]
            if answers:
                return answers[0]
            assert asyncio.get_running_loop().time() < deadline, f"no stored answer to {question!r}: {messages}"
            await asyncio.sleep(0.2)


async def agent_claims_and_replies(baton: LiveServer, conversation_id: int, text: str) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await api(http, baton, f"/api/conversations/{conversation_id}/claim", "POST")
        assert status == 200, body
        status, body = await api(http, baton, f"/api/conversations/{conversation_id}/reply", "POST",
                                 json={"text": text})
        assert status == 200, body


# ---- tests ------------------------------------------------------------------------------

async def test_rasa_webchat_shows_the_bot_its_buttons_and_an_agent(baton, shop, context):
    page = await open_chat(context, shop + "/")

    # The init payload (/greet) is answered with the greeting and its quick replies.
    greeting = bot_lines(page).filter(has_text="Northwind Outfitters assistant")
    await shown(greeting)
    replies = page.locator(".rw-replies .rw-reply")
    await expect(replies).to_have_text(["Track my order", "Returns", "Talk to a person"],
                                       timeout=SHOWN_WITHIN_MS)

    # Clicking a quick reply sends its payload; the bot answers that intent.
    await replies.filter(has_text="Track my order").click()
    await shown(customer_lines(page).filter(has_text="Track my order"))
    await shown(bot_lines(page).filter(has_text="What's your order number?"))

    # A typed question gets the bot's text answer.
    await type_and_send(page, "what are your opening hours?")
    await shown(customer_lines(page).filter(has_text="what are your opening hours?"))
    conversation_id = await conversation_id_of(baton, await widget_session_id(page))
    assert conversation_id is not None, "Baton has no conversation for the widget's session"
    answer = await stored_answer_to(baton, conversation_id, "what are your opening hours?")
    await shown(bot_lines(page).filter(has_text=answer))
    async with aiohttp.ClientSession() as http:
        stored = await conversation_detail(http, baton, conversation_id)
    assert [m["text"] for m in stored["messages"] if m["sender"] == "customer"] == [
        "/greet", "/order_status", "what are your opening hours?"], "the button did not send its payload"

    # A handoff: the system notice and then the agent's reply reach the visitor.
    await type_and_send(page, "I want to talk to a person")
    await shown(bot_lines(page).filter(has_text="queue"))
    reply = "Hi, I'm Alex from the team. Let me check on that order for you."
    await agent_claims_and_replies(baton, conversation_id, reply)
    await shown(bot_lines(page).filter(has_text=reply))
    assert page.page_errors == []  # type: ignore[attr-defined]


async def test_rasa_webchat_shows_markup_as_text(baton, shop, context):
    page = await open_chat(context, shop + "/")
    greeting_buttons = page.locator(".rw-replies .rw-reply")
    await expect(greeting_buttons.first).to_be_visible(timeout=SHOWN_WITHIN_MS)
    await type_and_send(page, XSS)
    await shown(customer_lines(page).filter(has_text=XSS))
    await type_and_send(page, "I want to talk to a person")
    await shown(bot_lines(page).filter(has_text="queue"))

    conversation_id = await conversation_id_of(baton, await widget_session_id(page))
    async with aiohttp.ClientSession() as http:
        stored = await conversation_detail(http, baton, conversation_id)
    assert XSS in [m["text"] for m in stored["messages"] if m["sender"] == "customer"]
    await agent_claims_and_replies(baton, conversation_id, f"You wrote: {XSS}")
    await shown(bot_lines(page).filter(has_text=f"You wrote: {XSS}"))

    assert await page.evaluate("() => typeof window.__pwned") == "undefined"
    assert await page.locator(".rw-conversation-container img[src='x']").count() == 0, "markup became an element"
    assert page.page_errors == []  # type: ignore[attr-defined]
