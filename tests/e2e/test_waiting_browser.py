"""The customer's wait in a real Chromium: the widget's waiting state, live places, leave a message.

Baton's own demo page (the one-line widget) on a live server with the shared trained model; an
agent's console is a real Socket.IO connection (it makes someone "online"), or the real console
page later, when the customer has left a message for them.
"""

from __future__ import annotations

import re
import uuid
from typing import Optional

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import (
    VIEWPORT, AgentClient, LiveServer, add_user, api, conversation_detail, http_session, logged_in, rest,
    screenshot_path,
)

pytestmark = pytest.mark.browser

UI = 20_000


@pytest.fixture
async def context(browser: Browser):
    ctx = await browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(UI)
    yield ctx
    await ctx.close()


async def open_demo_widget(context, baton: LiveServer) -> Page:
    page = await context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    await page.goto(f"{baton.url}/")
    await page.get_by_test_id("baton-launcher").click()
    await expect(page.get_by_test_id("baton-status")).to_have_text("Online")
    return page


async def say(page: Page, text: str) -> None:
    await page.get_by_test_id("baton-input").fill(text)
    await page.get_by_test_id("baton-send").click()


async def widget_conversation(baton: LiveServer, page: Page) -> int:
    session_id = await page.evaluate("() => window.Baton.sessionId()")
    identity = baton.services.webchat.signer.verify(session_id)
    conversation_id = await baton.acall(baton.services.conversations.latest_conversation_for("webchat", identity))
    assert conversation_id is not None
    return conversation_id


async def online_agent(baton: LiveServer, name: Optional[str] = None) -> AgentClient:
    token, _ = await logged_in(baton, "agent", display_name=name)
    agent = await AgentClient(baton, token).connect()
    await agent.wait_for("queue")
    return agent


async def test_a_waiting_customer_sees_their_place_move_up_live(start_server, context):
    baton = start_server()
    agent = await online_agent(baton, "Ana")
    try:
        async with http_session() as http:
            ahead = f"rest-{uuid.uuid4().hex[:8]}"
            notice = (await rest(http, baton, ahead, "I want to talk to a person"))[-1]
            assert "number 1 in the queue" in notice["text"] and "Nobody" not in notice["text"], notice
            [ahead_conversation] = (await api(http, baton, f"/api/conversations?channel=rest&external_id={ahead}"))[1][
                "conversations"]
            ahead_id = ahead_conversation["id"]
            page = await open_demo_widget(context, baton)
            await say(page, "I want to talk to a person")
            wait = page.get_by_test_id("baton-wait")
            await expect(wait).to_be_visible()
            await expect(wait).to_have_attribute("data-position", "2")
            await expect(page.get_by_test_id("baton-wait-detail")).to_contain_text("You are number 2 in the queue")
            await expect(page.get_by_test_id("baton-status")).to_have_text("Waiting for a person")
            await expect(page.get_by_test_id("baton-status")).to_have_attribute("data-state", "waiting")
            await expect(page.get_by_test_id("baton-leave-form")).to_be_hidden()   # someone is in: no offer

            # Earlier claims today (two to five minutes each) are what an estimate is made from.
            for seconds in (120, 180, 240, 300):
                await baton.acall(baton.services.store.reporting.record(
                    "queue_wait", ahead_id, value=float(seconds), detail={"position": 1}))
            # The customer ahead is taken: the widget's place moves to 1 without a reload.
            status, body = await api(http, baton, f"/api/conversations/{ahead_id}/claim", "POST")
            assert status == 200, body
            await expect(wait).to_have_attribute("data-position", "1")
            # A range from those claims (and the one just made), said to be an estimate.
            await expect(page.get_by_test_id("baton-wait-detail")).to_have_text(re.compile(
                r"^You are number 1 in the queue \(usually about 2\u2013[45] minutes; an estimate, not a promise\)\.$"))
            shot = screenshot_path("widget-waiting.png")
            await page.screenshot(path=str(shot), animations="disabled", caret="hide")
            assert shot.stat().st_size > 10_000

            # A further message is taken in, and the wait stays shown (no endless typing dots).
            await say(page, "Thanks, I'll wait")
            await expect(page.get_by_test_id("baton-typing")).to_be_hidden()
            await expect(wait).to_be_visible()

            # A person takes it: the header says who is there, the waiting state goes.
            mine = await widget_conversation(baton, page)
            result = await agent.call("claim", {"conversation_id": mine})
            assert result["ok"], result
            await expect(page.get_by_test_id("baton-status")).to_have_text("Ana is here to help")
            await expect(wait).to_be_hidden()
            assert page.page_errors == []  # type: ignore[attr-defined]
    finally:
        await agent.close()


async def test_nobody_online_the_customer_leaves_a_message_the_agent_sees_later(start_server, context, browser):
    baton = start_server(wait_check_seconds=1.0)
    page = await open_demo_widget(context, baton)
    await say(page, "I want to talk to a person")
    notice = page.locator('[data-testid="baton-message"][data-sender="system"]').filter(has_text="Nobody from our team")
    await expect(notice).to_have_count(1)
    await expect(page.get_by_test_id("baton-status")).to_have_text("Nobody is available right now")
    form = page.get_by_test_id("baton-leave-form")
    await expect(form).to_be_visible()

    # A mistyped address is refused in the form, nothing is sent.
    await page.get_by_test_id("baton-leave-email").fill("ada.example.com")
    await page.get_by_test_id("baton-leave-send").click()
    await expect(page.get_by_test_id("baton-leave-error")).to_have_text("Please enter a valid e-mail address.")

    left = "My parcel 12345 arrived damaged <b>twice</b>; please call me back."
    await page.get_by_test_id("baton-leave-email").fill("ada@example.com")
    await page.get_by_test_id("baton-leave-text").fill(left)
    await page.get_by_test_id("baton-leave-send").click()
    confirmation = page.locator('[data-testid="baton-message"][data-sender="system"]').filter(
        has_text="We'll answer at ada@example.com")
    await expect(confirmation).to_have_count(1)
    await expect(form).to_be_hidden()
    await expect(page.get_by_test_id("baton-wait-detail")).to_have_text(
        "Thanks, we have your message. We'll answer at ada@example.com.")

    # Stored on the conversation and in it.
    conversation_id = await widget_conversation(baton, page)
    async with http_session() as http:
        stored = await conversation_detail(http, baton, conversation_id)
    assert stored["conversation"]["contact_email"] == "ada@example.com"
    assert stored["conversation"]["status"] == "queued"
    assert left in [m["text"] for m in stored["messages"] if m["sender"] == "customer"]

    # Later, an agent comes in: the queue marks it, and the conversation shows the address.
    username, password, _ = await add_user(baton, "agent")
    console_context = await browser.new_context(viewport=VIEWPORT)
    try:
        console = await console_context.new_page()
        await console.goto(f"{baton.url}/console")
        await console.get_by_test_id("login-username").fill(username)
        await console.get_by_test_id("login-password").fill(password)
        await console.get_by_test_id("login-submit").click()
        item = console.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await expect(item.get_by_test_id("left-message-badge")).to_be_visible(timeout=UI)
        await item.click()
        await expect(console.get_by_test_id("contact-email")).to_have_text("ada@example.com", timeout=UI)
        await expect(console.get_by_test_id("contact-email")).to_have_attribute("href", "mailto:ada@example.com")
        await expect(console.locator('#transcript [data-testid="message"][data-sender="customer"]').filter(
            has_text=left)).to_have_count(1, timeout=UI)
        # The agent is online now: the widget stops saying nobody is (the waiting room's clock looks).
        await expect(page.get_by_test_id("baton-status")).to_have_text("Waiting for a person", timeout=UI)
    finally:
        await console_context.close()
    assert page.page_errors == []  # type: ignore[attr-defined]
